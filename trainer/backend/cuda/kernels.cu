// mlpviz's CUDA kernels: the CUDA backend's maths, each the device twin of a
// function of trainer/backend/kernels (or of the CPU backend), with the
// same semantics and, where the CPU rounds each product, the same rounding.
//
// go generate compiles this file to kernels.ptx (see kernels.go for the
// flags); the PTX is committed and embedded, so building mlpviz never needs
// the CUDA toolkit. --fmad=false keeps nvcc from fusing a*b+c into one FMA
// where the CPU code rounds the product first; the SGEMM and the reductions
// ask for fmaf explicitly.
//
// Sizes are ints (every tensor here is far below 2^31 values); flat loops
// are grid-stride, so any grid size is correct and the host caps it.

#include <float.h>
#include <math.h>

#define GRID_STRIDE(i, n) \
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// Block-wide reductions need a fixed block size: REDUCE_THREADS threads, a
// power of two. The order of the additions depends only on it, so every run
// gives the same bits.
#define REDUCE_THREADS 256

// Sums v over the block into sh[0] (sh holds REDUCE_THREADS doubles); every
// thread must call it. Returns the total in thread 0, garbage elsewhere.
__device__ double block_sum(double v, double *sh) {
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int half = REDUCE_THREADS / 2; half > 0; half >>= 1) {
        if (t < half) {
            sh[t] += sh[t + half];
        }
        __syncthreads();
    }
    double total = sh[0];
    __syncthreads(); // sh is reused by the next call
    return total;
}

// ---------------------------------------------------------------- ReLU

// y = max(x, 0); y may alias x. A NaN stays a NaN, as with Go's max.
extern "C" __global__ void relu_forward(const float *x, float *y, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = (v > 0.0f || v != v) ? v : 0.0f;
    }
}

// dx = dy where y > 0, else 0; dx may alias dy.
extern "C" __global__ void relu_backward(const float *y, const float *dy, float *dx, int n) {
    GRID_STRIDE(i, n) {
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

// ---------------------------------------------------------------- Dropout

// SplitMix64's finaliser, as kernels.mix64.
__device__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// kernels.Dropout's rule: value i (global index offset+i) is dropped when
// mix64(key + (offset+i+1)*golden) >> 40 < thr, with key = mix64(seed) and
// thr = ceil(p * 2^24) from the host. Survivors are scaled by keep. With
// p = 0 the host passes thr 0 and keep 1: a copy and a mask of ones.
extern "C" __global__ void dropout_forward(const float *x, float *y, float *mask, int n,
                                           unsigned long long seed, unsigned long long offset,
                                           unsigned long long thr, float keep) {
    unsigned long long key = mix64(seed);
    GRID_STRIDE(i, n) {
        unsigned long long bits = mix64(key + (offset + (unsigned long long)i + 1ULL) * 0x9E3779B97F4A7C15ULL);
        float m = (bits >> 40) < thr ? 0.0f : keep;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// dx = dy * mask; dx may alias dy.
extern "C" __global__ void dropout_backward(const float *mask, const float *dy, float *dx, int n) {
    GRID_STRIDE(i, n) {
        dx[i] = dy[i] * mask[i];
    }
}

// ---------------------------------------------------------------- AdamW

// One AdamW step in kernels.AdamW's order and roundings; the per-step
// constants come from the host (kernels' newAdamConsts). sqrtf is IEEE
// (nvcc's default -prec-sqrt=true) as is the division, so the result is
// the CPU's bit for bit.
extern "C" __global__ void adamw(float *w, const float *g, float *m, float *v, int n,
                                 float b1, float c1, float b2, float c2, float eps,
                                 float step_size, float sqrt_bc2, float decay) {
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + (c2 * gi) * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / sqrt_bc2 + eps;
        w[i] = w[i] * decay - (step_size * mi) / denom;
    }
}

// ---------------------------------------------------------------- rows and channels

// y[i] = row[i % cols] over n values: a Linear layer's bias in every row.
extern "C" __global__ void broadcast_rows(const float *row, float *y, int cols, int n) {
    GRID_STRIDE(i, n) {
        y[i] = row[i % cols];
    }
}

// out[ch] += the sum of channel ch of x, n samples × c channels × s values;
// one block per channel, the sum in double. SumRows is s = 1, a
// convolution's bias gradient s = OH·OW.
extern "C" __global__ void channel_sum(const float *x, float *out, int n, int c, int s) {
    __shared__ double sh[REDUCE_THREADS];
    int ch = blockIdx.x;
    int total = n * s;
    double acc = 0;
    for (int j = threadIdx.x; j < total; j += REDUCE_THREADS) {
        int i = j / s, k = j - i * s;
        acc += (double)x[((size_t)i * c + ch) * s + k];
    }
    double sum = block_sum(acc, sh);
    if (threadIdx.x == 0) {
        out[ch] += (float)sum;
    }
}

// ---------------------------------------------------------------- Max-pool

// kernels.MaxPool over planes of h×w with size×size windows at stride size
// (floor mode): y and arg are planes of (h/size)×(w/size); arg is the flat
// index into the whole of x of the first maximum in row-major window
// order (a later value wins only if strictly greater, so a NaN first wins).
extern "C" __global__ void maxpool_forward(const float *x, float *y, int *arg, int planes, int h, int w, int size) {
    int oh = h / size, ow = w / size;
    GRID_STRIDE(o, planes * oh * ow) {
        int p = o / (oh * ow), r = o - p * oh * ow;
        int oy = r / ow, ox = r - oy * ow;
        int base = p * h * w + oy * size * w + ox * size;
        float best = x[base];
        int bi = base;
        for (int dy = 0; dy < size; dy++) {
            for (int dx = 0; dx < size; dx++) {
                int at = base + dy * w + dx;
                float v = x[at];
                if (v > best) {
                    best = v;
                    bi = at;
                }
            }
        }
        y[o] = best;
        arg[o] = bi;
    }
}

// kernels.MaxPoolBackward as a gather: each input value is in at most one
// window, so it takes 0 + dy of its window if it won there (-0 becomes +0
// as on the CPU) and 0 otherwise, with no atomics and no clearing pass.
extern "C" __global__ void maxpool_backward(const float *dy, const int *arg, float *dx, int planes, int h, int w, int size) {
    int oh = h / size, ow = w / size;
    GRID_STRIDE(i, planes * h * w) {
        int p = i / (h * w), r = i - p * h * w;
        int iy = r / w, ix = r - iy * w;
        int oy = iy / size, ox = ix / size;
        float v = 0.0f;
        if (oy < oh && ox < ow) {
            int o = p * oh * ow + oy * ow + ox;
            if (arg[o] == i) {
                v = 0.0f + dy[o];
            }
        }
        dx[i] = v;
    }
}

// ---------------------------------------------------------------- Convolution

// The convolution runs as GEMMs over a chunk of nb images whose columns sit
// side by side: col is (c·r·r) × (nb·oh·ow), column n·oh·ow + oy·ow + ox
// holding image n's receptive field at (oy, ox). Then Y = W·col is
// k × (nb·oh·ow), which conv_scatter turns into NCHW; the backward pass
// gathers dy into that layout for dW += dY·colᵀ and dcol = Wᵀ·dY.

// im2col lays out the receptive fields of images x (nb × c × h × w), zero
// where they read the padding.
extern "C" __global__ void im2col(const float *x, float *col, int nb, int c, int h, int w, int r, int pad, int oh, int ow) {
    int hw = oh * ow, cols = nb * hw;
    GRID_STRIDE(i, c * r * r * cols) {
        int row = i / cols, j = i - row * cols;
        int ch = row / (r * r), kk = row - ch * r * r;
        int ky = kk / r, kx = kk - ky * r;
        int n = j / hw, q = j - n * hw;
        int oy = q / ow, ox = q - oy * ow;
        int iy = oy + ky - pad, ix = ox + kx - pad;
        float v = 0.0f;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            v = x[((n * c + ch) * h + iy) * w + ix];
        }
        col[i] = v;
    }
}

// col2im overwrites dx (nb × c × h × w) with the sum of the column entries
// that read each input value: the transpose of im2col, as a gather.
extern "C" __global__ void col2im(const float *col, float *dx, int nb, int c, int h, int w, int r, int pad, int oh, int ow) {
    int hw = oh * ow, cols = nb * hw;
    GRID_STRIDE(i, nb * c * h * w) {
        int ix = i % w, t = i / w;
        int iy = t % h;
        t /= h;
        int ch = t % c, n = t / c;
        float sum = 0.0f;
        for (int ky = 0; ky < r; ky++) {
            int oy = iy - ky + pad;
            if (oy < 0 || oy >= oh) {
                continue;
            }
            for (int kx = 0; kx < r; kx++) {
                int ox = ix - kx + pad;
                if (ox < 0 || ox >= ow) {
                    continue;
                }
                int row = (ch * r + ky) * r + kx;
                sum += col[(size_t)row * cols + n * hw + oy * ow + ox];
            }
        }
        dx[i] = sum;
    }
}

// conv_scatter writes y (nb × k × hw, NCHW) = t (k × nb·hw) + bias.
extern "C" __global__ void conv_scatter(const float *t, const float *bias, float *y, int nb, int k, int hw) {
    GRID_STRIDE(i, nb * k * hw) {
        int q = i % hw, rest = i / hw;
        int ch = rest % k, n = rest / k;
        y[i] = t[(size_t)ch * nb * hw + n * hw + q] + bias[ch];
    }
}

// conv_gather writes t (k × nb·hw) from dy (nb × k × hw).
extern "C" __global__ void conv_gather(const float *dy, float *t, int nb, int k, int hw) {
    GRID_STRIDE(i, nb * k * hw) {
        int q = i % hw, rest = i / hw;
        int ch = rest % k, n = rest / k;
        t[(size_t)ch * nb * hw + n * hw + q] = dy[i];
    }
}

// ---------------------------------------------------------------- Batch norm
//
// x is n samples × c channels × s values (s = 1 for BatchNorm1d). The
// statistics and the backward sums take one block per channel, in double,
// as kernels.NormStats and kernels.NormBackwardSums do.

// bn_stats writes each channel's mean and 1/sqrt(var+eps) (biased
// variance) and moves the running statistics by momentum, with the
// unbiased variance, as the CPU backend's BatchNorm. The sums are shifted
// by the channel's first value, so a mean far from zero loses nothing.
extern "C" __global__ void bn_stats(const float *x, int n, int c, int s, float momentum, float eps,
                                    float *mean, float *inv_std, float *run_mean, float *run_var) {
    __shared__ double sh[REDUCE_THREADS];
    int ch = blockIdx.x;
    int total = n * s;
    float k = x[(size_t)ch * s];
    double sum = 0, sq = 0;
    for (int j = threadIdx.x; j < total; j += REDUCE_THREADS) {
        int i = j / s, q = j - i * s;
        double d = (double)x[((size_t)i * c + ch) * s + q] - (double)k;
        sum += d;
        sq = fma(d, d, sq);
    }
    sum = block_sum(sum, sh);
    sq = block_sum(sq, sh);
    if (threadIdx.x == 0) {
        double m = (double)total;
        double d = sum / m;
        float mu = (float)((double)k + d);
        float var = (float)fmax(sq / m - d * d, 0.0);
        mean[ch] = mu;
        inv_std[ch] = (float)(1.0 / sqrt((double)var + (double)eps));
        double unbiased = (double)var;
        if (m > 1) {
            unbiased = (double)var * m / (m - 1);
        }
        run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mu;
        run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (float)unbiased;
    }
}

// bn_eval_params writes the running statistics as apply takes them:
// mean and 1/sqrt(var+eps), the sum rounded to float first as on the CPU.
extern "C" __global__ void bn_eval_params(const float *run_mean, const float *run_var, float eps, int c,
                                          float *mean, float *inv_std) {
    GRID_STRIDE(ch, c) {
        mean[ch] = run_mean[ch];
        inv_std[ch] = (float)(1.0 / sqrt((double)(run_var[ch] + eps)));
    }
}

// bn_apply writes y = gamma*xhat + beta with xhat = (x-mean)*inv_std, and
// xhat itself unless it is null; y and xhat may alias x.
extern "C" __global__ void bn_apply(const float *x, float *y, float *xhat, int n, int c, int s,
                                    const float *mean, const float *inv_std, const float *gamma, const float *beta) {
    GRID_STRIDE(i, n * c * s) {
        int ch = (i / s) % c;
        float xh = (x[i] - mean[ch]) * inv_std[ch];
        if (xhat != 0) {
            xhat[i] = xh;
        }
        y[i] = gamma[ch] * xh + beta[ch];
    }
}

// bn_backward_sums writes Σdy and Σdy·xhat per channel (rounded to float)
// and adds them to the shift and scale gradients.
extern "C" __global__ void bn_backward_sums(const float *dy, const float *xhat, int n, int c, int s,
                                            float *sum_dy, float *sum_dy_xhat, float *dbeta, float *dgamma) {
    __shared__ double sh[REDUCE_THREADS];
    int ch = blockIdx.x;
    int total = n * s;
    double s1 = 0, s2 = 0;
    for (int j = threadIdx.x; j < total; j += REDUCE_THREADS) {
        int i = j / s, q = j - i * s;
        size_t at = ((size_t)i * c + ch) * s + q;
        double d = (double)dy[at];
        s1 += d;
        s2 = fma(d, (double)xhat[at], s2);
    }
    s1 = block_sum(s1, sh);
    s2 = block_sum(s2, sh);
    if (threadIdx.x == 0) {
        float f1 = (float)s1, f2 = (float)s2;
        sum_dy[ch] = f1;
        sum_dy_xhat[ch] = f2;
        dbeta[ch] += f1;
        dgamma[ch] += f2;
    }
}

// bn_backward_apply writes dx = k*((m*dy - Σdy) - xhat*Σdy·xhat) with
// k = gamma*inv_std/m and m = n*s, each product rounded as
// kernels.NormBackwardApply does; dx may alias dy.
extern "C" __global__ void bn_backward_apply(const float *dy, const float *xhat, float *dx, int n, int c, int s,
                                             const float *gamma, const float *inv_std,
                                             const float *sum_dy, const float *sum_dy_xhat) {
    float m = (float)(n * s);
    GRID_STRIDE(i, n * c * s) {
        int ch = (i / s) % c;
        float k = (gamma[ch] * inv_std[ch]) / m;
        dx[i] = k * ((m * dy[i] - sum_dy[ch]) - xhat[i] * sum_dy_xhat[ch]);
    }
}

// ---------------------------------------------------------------- Softmax cross-entropy

// softmax_xent is kernels.SoftmaxCrossEntropy over all rows in one block:
// probs gets each row's softmax, dlogits (unless null) the gradient of the
// mean loss, and figures[0] the mean loss and figures[1] how many rows'
// first largest logit is their label, both summed in a fixed order. A label
// outside [0, classes) makes its row's loss NaN instead of reading past
// the row.
extern "C" __global__ void softmax_xent(const float *logits, const int *labels, int rows, int classes,
                                        float *probs, float *dlogits, double *figures) {
    __shared__ double sh[REDUCE_THREADS];
    float tot = (float)rows;
    double loss = 0, correct = 0;
    for (int r = threadIdx.x; r < rows; r += REDUCE_THREADS) {
        const float *z = logits + (size_t)r * classes;
        float *p = probs + (size_t)r * classes;
        float top = z[0];
        int arg = 0;
        for (int j = 1; j < classes; j++) {
            if (z[j] > top) {
                top = z[j];
                arg = j;
            }
        }
        int y = labels[r];
        bool valid = y >= 0 && y < classes;
        if (top > FLT_MAX) { // +Inf: exp(v - top) would be NaN
            int k = 0;
            for (int j = 0; j < classes; j++) {
                k += z[j] == top;
            }
            for (int j = 0; j < classes; j++) {
                p[j] = z[j] == top ? 1.0f / (float)k : 0.0f;
            }
            if (!valid) {
                loss += nan("");
            } else if (z[y] == top) {
                loss += log((double)k);
            } else {
                loss += INFINITY;
            }
        } else {
            double sum = 0;
            for (int j = 0; j < classes; j++) {
                double e = exp((double)(z[j] - top));
                p[j] = (float)e;
                sum += e;
            }
            for (int j = 0; j < classes; j++) {
                p[j] = (float)((double)p[j] / sum);
            }
            loss += valid ? -((double)(z[y] - top) - log(sum)) : nan("");
        }
        if (arg == y) {
            correct += 1;
        }
        if (dlogits != 0) {
            float *d = dlogits + (size_t)r * classes;
            for (int j = 0; j < classes; j++) {
                d[j] = p[j] / tot;
            }
            if (valid) {
                d[y] -= 1.0f / tot;
            }
        }
    }
    loss = block_sum(loss, sh);
    correct = block_sum(correct, sh);
    if (threadIdx.x == 0) {
        figures[0] = loss / (double)rows;
        figures[1] = correct;
    }
}

// ---------------------------------------------------------------- SGEMM

// The fallback when cuBLAS is not installed: C = op(A)·op(B) + beta·C,
// row-major, C m×n with ldc, op(A) m×k (stored k×m when trans_a), op(B)
// k×n (stored n×k when trans_b). Each block computes a 64×64 tile of C
// from 16-deep slices of op(A) and op(B) staged in shared memory, each of
// its 256 threads a 4×4 grid of values 16 apart (so a warp reads shared
// memory without conflicts). Loads follow the stored layout so that
// neighbouring threads read neighbouring addresses in all four forms.
// beta 0 never reads C, which may hold anything.
#define TILE 64
#define DEPTH 16

// load_slice stages a TILE×DEPTH slice of a matrix in s[p][r]: rows r0
// to r0+TILE of its outer dimension (m for op(A), n for op(B); outer of
// them) and p0 to p0+DEPTH of its depth (k), zero past the ends. The
// matrix is stored outer-major (value (r, p) at r*ld + p) or depth-major
// (at p*ld + r); either way neighbouring threads read neighbouring
// addresses.
__device__ void load_slice(float s[DEPTH][TILE + 4], const float *src, int ld, bool depth_major,
                           int r0, int outer, int p0, int k) {
    for (int e = threadIdx.x; e < TILE * DEPTH; e += 256) {
        int r, p;
        if (depth_major) {
            p = e / TILE;
            r = e % TILE;
        } else {
            r = e / DEPTH;
            p = e % DEPTH;
        }
        int gr = r0 + r, gp = p0 + p;
        float v = 0.0f;
        if (gr < outer && gp < k) {
            v = depth_major ? src[(size_t)gp * ld + gr] : src[(size_t)gr * ld + gp];
        }
        s[p][r] = v;
    }
}

extern "C" __global__ void __launch_bounds__(256) sgemm(int trans_a, int trans_b, int m, int n, int k,
                                                        const float *a, int lda, const float *b, int ldb,
                                                        float beta, float *c, int ldc) {
    __shared__ float as[DEPTH][TILE + 4];
    __shared__ float bs[DEPTH][TILE + 4];
    int t = threadIdx.x;
    int tx = t % 16, ty = t / 16;
    int i0 = blockIdx.y * TILE, j0 = blockIdx.x * TILE;
    float acc[4][4] = {{0}};
    for (int p0 = 0; p0 < k; p0 += DEPTH) {
        load_slice(as, a, lda, trans_a, i0, m, p0, k);
        load_slice(bs, b, ldb, !trans_b, j0, n, p0, k);
        __syncthreads();
        for (int p = 0; p < DEPTH; p++) {
            float ra[4], rb[4];
            for (int q = 0; q < 4; q++) {
                ra[q] = as[p][ty + 16 * q];
                rb[q] = bs[p][tx + 16 * q];
            }
            for (int qi = 0; qi < 4; qi++) {
                for (int qj = 0; qj < 4; qj++) {
                    acc[qi][qj] = fmaf(ra[qi], rb[qj], acc[qi][qj]);
                }
            }
        }
        __syncthreads();
    }
    for (int qi = 0; qi < 4; qi++) {
        int gi = i0 + ty + 16 * qi;
        if (gi >= m) {
            continue;
        }
        for (int qj = 0; qj < 4; qj++) {
            int gj = j0 + tx + 16 * qj;
            if (gj >= n) {
                continue;
            }
            float *out = c + (size_t)gi * ldc + gj;
            *out = beta == 0.0f ? acc[qi][qj] : acc[qi][qj] + beta * *out;
        }
    }
}
