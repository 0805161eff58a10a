using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>Row/column reductions and broadcasts on row-major [rows x cols] matrices (SIMD, allocation-free).</summary>
public static class ReductionKernels
{
    /// <summary>
    /// Column sums: dst[j] = (accumulate ? dst[j] : 0) + sum_i src[i*cols + j] (used for bias gradients).
    /// Tail: the last vector is placed at cols - W (overlapping) and stored through a lane mask;
    /// cols &lt; W falls back to a narrower width, down to scalar.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="src">Matrix [rows x cols].</param>
    /// <param name="dst">Output [cols].</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Number of columns.</param>
    /// <param name="accumulate">Add into dst instead of overwriting it.</param>
    public static unsafe void SumRows<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows >= 0 && cols >= 0 && src.Length >= (long)rows * cols && dst.Length >= cols);
        if (cols <= 0)
            return;
        fixed (T* ps = src)
        fixed (T* pd = dst)
        {
            if (Vector512.IsHardwareAccelerated && cols >= Vector512<T>.Count)
                SumRows<T, Vector512<T>, Simd512<T>>(ps, pd, rows, cols, accumulate);
            else if (Vector256.IsHardwareAccelerated && cols >= Vector256<T>.Count)
                SumRows<T, Vector256<T>, Simd256<T>>(ps, pd, rows, cols, accumulate);
            else if (Vector128.IsHardwareAccelerated && cols >= Vector128<T>.Count)
                SumRows<T, Vector128<T>, Simd128<T>>(ps, pd, rows, cols, accumulate);
            else
                SumRows<T, T, Scalar<T>>(ps, pd, rows, cols, accumulate);
        }
    }

    /// <summary>
    /// Row sums: dst[i] = (accumulate ? dst[i] : 0) + sum_j src[i*cols + j].
    /// Tail: the last vector of a row is loaded at cols - W and its already-counted lanes are zeroed by a mask;
    /// cols &lt; W falls back to a narrower width, down to scalar.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="src">Matrix [rows x cols].</param>
    /// <param name="dst">Output [rows].</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Number of columns.</param>
    /// <param name="accumulate">Add into dst instead of overwriting it.</param>
    public static unsafe void SumCols<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows >= 0 && cols >= 0 && src.Length >= (long)rows * cols && dst.Length >= rows);
        if (rows <= 0)
            return;
        fixed (T* ps = src)
        fixed (T* pd = dst)
        {
            if (Vector512.IsHardwareAccelerated && cols >= Vector512<T>.Count)
                SumCols<T, Vector512<T>, Simd512<T>>(ps, pd, rows, cols, accumulate);
            else if (Vector256.IsHardwareAccelerated && cols >= Vector256<T>.Count)
                SumCols<T, Vector256<T>, Simd256<T>>(ps, pd, rows, cols, accumulate);
            else if (Vector128.IsHardwareAccelerated && cols >= Vector128<T>.Count)
                SumCols<T, Vector128<T>, Simd128<T>>(ps, pd, rows, cols, accumulate);
            else
                SumCols<T, T, Scalar<T>>(ps, pd, rows, cols, accumulate);
        }
    }

    /// <summary>
    /// Whether every value is finite (no NaN, no infinity). One pass with independent accumulators of x*0, which is
    /// 0 for a finite x and NaN otherwise, so the loop has no branch and no compare per element.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">The values.</param>
    public static bool AllFinite<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        AllFiniteAfterScaling(x, T.One);

    /// <summary>
    /// Whether every product x·<paramref name="scale"/>, rounded to <typeparamref name="T"/>, is finite: with a power of
    /// two 2^k, exactly whether every |x| is below 2^(e + 1 − k) for the largest finite value's exponent e, i.e. a bound
    /// on magnitudes in the same branch-free pass as <see cref="AllFinite{T}"/> (its accumulators take (x·scale)·0).
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">The values.</param>
    /// <param name="scale">The factor (1 checks finiteness alone).</param>
    public static unsafe bool AllFiniteAfterScaling<T>(ReadOnlySpan<T> x, T scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        fixed (T* p = x)
        {
            if (Vector256.IsHardwareAccelerated && x.Length >= 4 * Vector256<T>.Count)
                return AllFinite<T, Vector256<T>, Simd256<T>>(p, x.Length, scale);
            if (Vector128.IsHardwareAccelerated && x.Length >= 4 * Vector128<T>.Count)
                return AllFinite<T, Vector128<T>, Simd128<T>>(p, x.Length, scale);
            return AllFinite<T, T, Scalar<T>>(p, x.Length, scale);
        }
    }

    private static unsafe bool AllFinite<T, TVec, TOps>(T* p, int n, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        TVec zero = TOps.Zero, f = TOps.Splat(scale);
        TVec a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        int i = 0;
        for (; i + 4 * w <= n; i += 4 * w)
        {
            a0 = TOps.MulAdd(TOps.MulAdd(TOps.Load(p + i), f, zero), zero, a0);
            a1 = TOps.MulAdd(TOps.MulAdd(TOps.Load(p + i + w), f, zero), zero, a1);
            a2 = TOps.MulAdd(TOps.MulAdd(TOps.Load(p + i + 2 * w), f, zero), zero, a2);
            a3 = TOps.MulAdd(TOps.MulAdd(TOps.Load(p + i + 3 * w), f, zero), zero, a3);
        }
        for (; i + w <= n; i += w) a0 = TOps.MulAdd(TOps.MulAdd(TOps.Load(p + i), f, zero), zero, a0);
        T s = TOps.Sum(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)));
        for (; i < n; i++) s += p[i] * scale * T.Zero;
        return s == T.Zero;
    }

    /// <summary>
    /// dst[i*cols + j] += bias[j] (broadcast a row vector over the rows).
    /// Tail: the last vector of a row is at cols - W, loaded before the row is updated and stored last.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="dst">Matrix [rows x cols], updated in place.</param>
    /// <param name="bias">Row vector [cols].</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Number of columns.</param>
    public static unsafe void AddRowVector<T>(Span<T> dst, ReadOnlySpan<T> bias, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows >= 0 && cols >= 0 && dst.Length >= (long)rows * cols && bias.Length >= cols);
        if (rows <= 0 || cols <= 0)
            return;
        int lanes = Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128<T>.Count;
        if (cols < lanes && rows >= 2 * lanes && Vector128.IsHardwareAccelerated)
        {
            // Narrow rows (e.g. the (samples, 1) output of Dense(1)): the bias repeated `lanes` times is a row of
            // lanes*cols values, so `lanes` narrow rows at a time become one wide row (same single add per element).
            Span<T> wide = stackalloc T[lanes * cols];
            for (int r = 0; r < lanes; r++) bias[..cols].CopyTo(wide.Slice(r * cols, cols));
            int groups = rows / lanes;
            AddRowVector<T>(dst, wide, groups, lanes * cols);
            int done = groups * lanes;
            if (done < rows) AddRowVector<T>(dst[(done * cols)..], bias, rows - done, cols);
            return;
        }
        fixed (T* pd = dst)
        fixed (T* pb = bias)
        {
            if (Vector512.IsHardwareAccelerated && cols >= Vector512<T>.Count)
                AddRowVector<T, Vector512<T>, Simd512<T>>(pd, pb, rows, cols);
            else if (Vector256.IsHardwareAccelerated && cols >= Vector256<T>.Count)
                AddRowVector<T, Vector256<T>, Simd256<T>>(pd, pb, rows, cols);
            else if (Vector128.IsHardwareAccelerated && cols >= Vector128<T>.Count)
                AddRowVector<T, Vector128<T>, Simd128<T>>(pd, pb, rows, cols);
            else
                AddRowVector<T, T, Scalar<T>>(pd, pb, rows, cols);
        }
    }

    // Column chunks of up to 4 vectors; each vector has two accumulators (even / odd rows) so the add latency
    // is hidden even for a single-vector chunk; they are combined once at the end.
    private static unsafe void SumRows<T, TVec, TOps>(T* src, T* dst, int rows, int cols, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int nvec = (cols + w - 1) / w;
        bool hasTail = cols % w != 0;
        int j = 0;
        while (nvec > 0)
        {
            int nv = Math.Min(nvec, 4);
            nvec -= nv;
            bool tail = nvec == 0 && hasTail;
            nint lastOff = tail ? cols - w - j : (nv - 1) * w;
            TVec mask = tail ? TOps.TailMask(j + nv * w - cols) : default;
            switch (nv)
            {
                case 1: SumRowsChunk<T, TVec, TOps, C1>(src + j, dst + j, rows, cols, lastOff, mask, tail, acc); break;
                case 2: SumRowsChunk<T, TVec, TOps, C2>(src + j, dst + j, rows, cols, lastOff, mask, tail, acc); break;
                case 3: SumRowsChunk<T, TVec, TOps, C3>(src + j, dst + j, rows, cols, lastOff, mask, tail, acc); break;
                default: SumRowsChunk<T, TVec, TOps, C4>(src + j, dst + j, rows, cols, lastOff, mask, tail, acc); break;
            }
            j += nv * w;
        }
    }

    private static unsafe void SumRowsChunk<T, TVec, TOps, TNv>(T* src, T* dst, int rows, nint ld, nint lastOff,
        TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
    {
        int w = TOps.Count;
        int nv = TNv.Value;
        nint o0 = nv == 1 ? lastOff : 0;
        nint o1 = nv == 2 ? lastOff : w;
        nint o2 = nv == 3 ? lastOff : 2 * w;
        nint o3 = lastOff;
        TVec z = TOps.Zero;
        TVec e0 = z, e1 = z, e2 = z, e3 = z, d0 = z, d1 = z, d2 = z, d3 = z;
        T* p = src;
        int i = 0;
        for (; i + 2 <= rows; i += 2, p += 2 * ld)
        {
            e0 = TOps.Add(e0, TOps.Load(p + o0));
            d0 = TOps.Add(d0, TOps.Load(p + ld + o0));
            if (nv > 1) { e1 = TOps.Add(e1, TOps.Load(p + o1)); d1 = TOps.Add(d1, TOps.Load(p + ld + o1)); }
            if (nv > 2) { e2 = TOps.Add(e2, TOps.Load(p + o2)); d2 = TOps.Add(d2, TOps.Load(p + ld + o2)); }
            if (nv > 3) { e3 = TOps.Add(e3, TOps.Load(p + o3)); d3 = TOps.Add(d3, TOps.Load(p + ld + o3)); }
        }
        if (i < rows)
        {
            e0 = TOps.Add(e0, TOps.Load(p + o0));
            if (nv > 1) e1 = TOps.Add(e1, TOps.Load(p + o1));
            if (nv > 2) e2 = TOps.Add(e2, TOps.Load(p + o2));
            if (nv > 3) e3 = TOps.Add(e3, TOps.Load(p + o3));
        }
        e0 = TOps.Add(e0, d0);
        e1 = TOps.Add(e1, d1);
        e2 = TOps.Add(e2, d2);
        e3 = TOps.Add(e3, d3);
        if (nv == 1) { Last<T, TVec, TOps>(dst + o0, e0, mask, tail, acc); return; }
        Put<T, TVec, TOps>(dst + o0, e0, acc);
        if (nv == 2) { Last<T, TVec, TOps>(dst + o1, e1, mask, tail, acc); return; }
        Put<T, TVec, TOps>(dst + o1, e1, acc);
        if (nv == 3) { Last<T, TVec, TOps>(dst + o2, e2, mask, tail, acc); return; }
        Put<T, TVec, TOps>(dst + o2, e2, acc);
        Last<T, TVec, TOps>(dst + o3, e3, mask, tail, acc);
    }

    // Per row: four interleaved vector accumulators over the full vectors, then the masked overlapped tail,
    // then one horizontal sum.
    private static unsafe void SumCols<T, TVec, TOps>(T* src, T* dst, int rows, int cols, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int full = cols - cols % w;
        bool tail = full != cols;
        TVec mask = tail ? TOps.TailMask(full - (cols - w)) : default;
        TVec z = TOps.Zero;
        for (int i = 0; i < rows; i++)
        {
            T* p = src + (nint)i * cols;
            TVec s0 = z, s1 = z, s2 = z, s3 = z;
            int j = 0;
            for (; j + 4 * w <= full; j += 4 * w)
            {
                s0 = TOps.Add(s0, TOps.Load(p + j));
                s1 = TOps.Add(s1, TOps.Load(p + j + w));
                s2 = TOps.Add(s2, TOps.Load(p + j + 2 * w));
                s3 = TOps.Add(s3, TOps.Load(p + j + 3 * w));
            }
            for (; j < full; j += w)
                s0 = TOps.Add(s0, TOps.Load(p + j));
            if (tail)
                s1 = TOps.Add(s1, TOps.Select(mask, TOps.Load(p + cols - w), z));
            T sum = TOps.Sum(TOps.Add(TOps.Add(s0, s1), TOps.Add(s2, s3)));
            dst[i] = acc ? dst[i] + sum : sum;
        }
    }

    private static unsafe void AddRowVector<T, TVec, TOps>(T* dst, T* bias, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int full = cols - cols % w;
        bool tail = full != cols;
        TVec bt = tail ? TOps.Load(bias + cols - w) : default;
        for (int i = 0; i < rows; i++)
        {
            T* p = dst + (nint)i * cols;
            // Overlapped tail: read before the row's other stores (no store-forwarding stall); its overlapped
            // lanes compute the same old + bias as the full vectors, so a plain full-width store is exact.
            TVec last = tail ? TOps.Add(TOps.Load(p + cols - w), bt) : default;
            int j = 0;
            for (; j + 2 * w <= full; j += 2 * w)
            {
                TOps.Store(p + j, TOps.Add(TOps.Load(p + j), TOps.Load(bias + j)));
                TOps.Store(p + j + w, TOps.Add(TOps.Load(p + j + w), TOps.Load(bias + j + w)));
            }
            for (; j < full; j += w)
                TOps.Store(p + j, TOps.Add(TOps.Load(p + j), TOps.Load(bias + j)));
            if (tail)
                TOps.Store(p + cols - w, last);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put<T, TVec, TOps>(T* c, TVec v, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (acc)
            v = TOps.Add(TOps.Load(c), v);
        TOps.Store(c, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Last<T, TVec, TOps>(T* c, TVec v, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (!tail)
        {
            Put<T, TVec, TOps>(c, v, acc);
            return;
        }
        TVec old = TOps.Load(c);
        TOps.Store(c, TOps.Select(mask, acc ? TOps.Add(old, v) : v, old));
    }
}
