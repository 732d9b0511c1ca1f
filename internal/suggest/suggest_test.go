package suggest

import "testing"

func TestClosest(t *testing.T) {
	cases := []struct {
		s     string
		cands []string
		trim  string
		want  string
	}{
		{"epoch", []string{"epochs", "seed", "lr"}, "", "epochs"},
		{"veiw", []string{"train", "view", "render"}, "", "view"},
		{"mnsit", []string{"mnist", "fashion_mnist", "cifar10"}, "", "mnist"},
		{"width", []string{"view.width", "view.height"}, "", "view.width"},
		{"MLPVIZ_EPOHCS", []string{"MLPVIZ_EPOCHS", "MLPVIZ_SEED"}, "MLPVIZ_", "MLPVIZ_EPOCHS"},
		{"xyz", []string{"epochs", "seed"}, "", ""}, // nothing near
		{"seed", []string{"seed"}, "", ""},          // an exact match is no typo
		{"ab", []string{"cd"}, "", ""},              // too short to guess
		{"imagenet", []string{"mnist", "cifar10"}, "", ""},
	}
	for _, c := range cases {
		if got := Closest(c.s, c.cands, c.trim); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.s, got, c.want)
		}
	}
	if got := DidYouMean("epoch", []string{"epochs"}, ""); got != ` (did you mean "epochs"?)` {
		t.Errorf("DidYouMean = %q", got)
	}
}
