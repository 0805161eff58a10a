using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

internal readonly struct C5 : IConst { public static int Value => 5; }
internal readonly struct C6 : IConst { public static int Value => 6; }
internal readonly struct C7 : IConst { public static int Value => 7; }
internal readonly struct C8 : IConst { public static int Value => 8; }

/// <summary>
/// Row vector times matrix, y[0..n) (+)= sum_k x[k*incx] * B[k*ldb + j]: the M = 1 case of
/// <see cref="MatMulKernels.Gemm{T}"/> (a recurrent step on one series, a Dense layer on one sample).
/// <para>
/// The general engine covers one row with tiles of at most 4 vectors, so its k loop is a chain of dependent FMAs
/// per accumulator and runs at FMA latency (about 4 cycles per k step for up to 4 vectors). Here one pass over k
/// keeps up to 8 vectors of accumulators in flight (e.g. the 80 gate columns of an LSTM(20) in one pass of
/// 10 x 256-bit vectors split 8 + 2), which is what the FMA pipes need to stay busy, and there is no plan set-up.
/// </para>
/// <para>
/// Results are bit-identical to the general engine: each column sums its products in increasing k order in one
/// accumulator starting at zero, adds the previous y once when accumulating, and splits k into the same
/// <see cref="GemmCore.KBlock"/> blocks. The column tail uses the same overlapped last vector.
/// </para>
/// </summary>
internal static unsafe class GemvCore
{
    /// <summary>y[0..n) (+)= sum over q &lt; k of x[q*incx] * b[q*ldb + j].</summary>
    public static void Run<T>(int n, int k, T* x, nint incx, T* b, nint ldb, T* y, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Dispatch<T>(n, k, x, incx, b, ldb, y, accumulate, packed: false);

    /// <summary>
    /// Elements <see cref="Pack{T}"/> writes for an n-column, k-row B: every vector <see cref="Run{T}"/> loads, once
    /// (a column block's vectors side by side, k rows of them, block after block).
    /// </summary>
    public static long PackedLength<T>(int n, int k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n <= 0 || k <= 0) return 0;
        int w = Width<T>(n);
        return (long)k * ((n + w - 1) / w) * w;
    }

    /// <summary>
    /// B (k x n, row stride <paramref name="ldb"/>) laid out for <see cref="RunPacked{T}"/>: each column block of the
    /// product (up to 8 vectors, the overlapped tail vector as loaded) as k contiguous rows of its vectors. A one-series
    /// recurrent step reads its whole kernel once per step; from B's rows it reads a block's few vectors at each row,
    /// <paramref name="ldb"/> elements apart, which the prefetchers follow poorly once B leaves L1 (at 256 units and more
    /// about half the speed of one contiguous stream: docs/kernels.md, "M == 1"). <paramref name="packed"/> should start
    /// on a 64-byte boundary: each row of a block then starts on a vector boundary.
    /// </summary>
    public static void Pack<T>(int n, int k, T* b, nint ldb, T* packed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n <= 0 || k <= 0) return;
        int w = Width<T>(n);
        if (Vector512.IsHardwareAccelerated && w == Vector512<T>.Count)
            Pack<T, Vector512<T>, Simd512<T>>(n, k, b, ldb, packed);
        else if (Vector256.IsHardwareAccelerated && w == Vector256<T>.Count)
            Pack<T, Vector256<T>, Simd256<T>>(n, k, b, ldb, packed);
        else if (Vector128.IsHardwareAccelerated && w == Vector128<T>.Count)
            Pack<T, Vector128<T>, Simd128<T>>(n, k, b, ldb, packed);
        else
            Pack<T, T, Scalar<T>>(n, k, b, ldb, packed);
    }

    /// <summary>
    /// The copy of <see cref="Pack{T}"/> one vector at a time, B's rows in order (each row read once, front to back,
    /// its vectors written to every block's panel): a span copy per vector, or a walk of B block by block (the strided
    /// pattern the packing exists to avoid), cost a large share of the products it serves.
    /// </summary>
    private static void Pack<T, TVec, TOps>(int n, int k, T* b, nint ldb, T* packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        for (int q = 0; q < k; q++)
        {
            T* src = b + q * ldb;
            T* panel = packed;
            var blocks = new ColumnBlocks(n, w);
            while (blocks.Next())
            {
                int nv = blocks.Vectors;
                T* dst = panel + (nint)q * nv * w, s = src + blocks.Start;
                for (int v = 0; v < nv - 1; v++)
                    TOps.Store(dst + v * w, TOps.Load(s + v * w));
                TOps.Store(dst + (nv - 1) * w, TOps.Load(s + blocks.LastOffset));
                panel += (nint)k * nv * w;
            }
        }
    }

    /// <summary>
    /// <see cref="Run{T}"/> from B packed by <see cref="Pack{T}"/> with the same n and k: the same products in the same
    /// order, so the same bits.
    /// </summary>
    public static void RunPacked<T>(int n, int k, T* x, nint incx, T* packed, T* y, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Dispatch<T>(n, k, x, incx, packed, 0, y, accumulate, packed: true);

    private static void Dispatch<T>(int n, int k, T* x, nint incx, T* b, nint ldb, T* y, bool accumulate, bool packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (n <= 0)
            return;
        if (k <= 0)
        {
            if (!accumulate)
                new Span<T>(y, n).Clear();
            return;
        }
        int w = Width<T>(n);
        if (Vector512.IsHardwareAccelerated && w == Vector512<T>.Count)
            Run<T, Vector512<T>, Simd512<T>>(n, k, x, incx, b, ldb, y, accumulate, packed);
        else if (Vector256.IsHardwareAccelerated && w == Vector256<T>.Count)
            Run<T, Vector256<T>, Simd256<T>>(n, k, x, incx, b, ldb, y, accumulate, packed);
        else if (Vector128.IsHardwareAccelerated && w == Vector128<T>.Count)
            Run<T, Vector128<T>, Simd128<T>>(n, k, x, incx, b, ldb, y, accumulate, packed);
        else
            Run<T, T, Scalar<T>>(n, k, x, incx, b, ldb, y, accumulate, packed);
    }

    /// <summary>The vector width (elements) the kernel uses for n columns: the widest that fits n (scalar: 1).</summary>
    private static int Width<T>(int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count && CpuTraits.Use512(n, Vector512<T>.Count))
            return Vector512<T>.Count;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
            return Vector256<T>.Count;
        if (Vector128.IsHardwareAccelerated && n >= Vector128<T>.Count)
            return Vector128<T>.Count;
        return 1;
    }

    /// <summary>
    /// The kernel's column blocks over n columns at vector width w, left to right: up to 8 vectors each, and when n is
    /// not a multiple of w the last vector of the last block overlapping its neighbour (kept inside a multi-vector block,
    /// as GemmCore does). <see cref="Pack{T}"/> and the products walk the same blocks.
    /// </summary>
    private struct ColumnBlocks(int n, int w)
    {
        private readonly bool _hasTail = n % w != 0;
        private int _remaining = (n + w - 1) / w;

        /// <summary>The block's first column.</summary>
        public int Start;

        /// <summary>Vectors in the block.</summary>
        public int Vectors;

        /// <summary>Where the block's last vector starts, from <see cref="Start"/>.</summary>
        public nint LastOffset;

        /// <summary>The last vector overlaps the one before it (n is not a multiple of w and this is the last block).</summary>
        public bool Tail;

        public bool Next()
        {
            if (_remaining == 0) return false;
            Start += Vectors * w;
            int nv = Math.Min(_remaining, 8);
            if (_hasTail && _remaining - nv == 1 && nv > 1)
                nv--;
            _remaining -= nv;
            Vectors = nv;
            Tail = _remaining == 0 && _hasTail;
            LastOffset = Tail ? n - w - Start : (nv - 1) * w;
            return true;
        }
    }

    private static void Run<T, TVec, TOps>(int n, int k, T* x, nint incx, T* b, nint ldb, T* y, bool accumulate, bool packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int kc = GemmCore.KBlock;
        for (int q0 = 0; q0 < k; q0 += kc)
        {
            int kq = Math.Min(kc, k - q0);
            T* xq = x + q0 * incx;
            bool acc = accumulate || q0 > 0;
            var blocks = new ColumnBlocks(n, w);
            // packed: the block's panel starts after the k rows of every earlier block's vectors
            T* panel = b;
            while (blocks.Next())
            {
                int j = blocks.Start, nv = blocks.Vectors;
                bool tail = blocks.Tail;
                nint lastOff = blocks.LastOffset;
                TVec mask = tail ? TOps.TailMask(j + nv * w - n) : default;
                T* yj = y + j;
                // B's vectors: at the columns y's are (strided rows), or side by side in the block's panel rows
                T* bj = packed ? panel + (nint)q0 * nv * w : b + q0 * ldb + j;
                nint ldbj = packed ? nv * w : ldb, bLastOff = packed ? (nv - 1) * w : lastOff;
                switch (nv)
                {
                    case 1: Block<T, TVec, TOps, C1>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 2: Block<T, TVec, TOps, C2>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 3: Block<T, TVec, TOps, C3>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 4: Block<T, TVec, TOps, C4>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 5: Block<T, TVec, TOps, C5>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 6: Block<T, TVec, TOps, C6>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    case 7: Block<T, TVec, TOps, C7>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                    default: Block<T, TVec, TOps, C8>(kq, xq, incx, bj, ldbj, bLastOff, yj, lastOff, mask, tail, acc); break;
                }
                panel += (nint)k * nv * w;
            }
        }
    }

    /// <summary>
    /// NV vectors of y over the whole k range; vector v sits at v*W except the last, at lastOff in y and at bLastOff
    /// in B's rows (lastOff for B's own rows, (NV − 1)·W in a packed panel).
    /// </summary>
    private static void Block<T, TVec, TOps, TNv>(int k, T* x, nint incx, T* b, nint ldb, nint bLastOff, T* y, nint lastOff, TVec mask, bool tail, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
    {
        int w = TOps.Count;
        int nv = TNv.Value;
        nint o0 = nv == 1 ? bLastOff : 0;
        nint o1 = nv == 2 ? bLastOff : w;
        nint o2 = nv == 3 ? bLastOff : 2 * w;
        nint o3 = nv == 4 ? bLastOff : 3 * w;
        nint o4 = nv == 5 ? bLastOff : 4 * w;
        nint o5 = nv == 6 ? bLastOff : 5 * w;
        nint o6 = nv == 7 ? bLastOff : 6 * w;
        nint o7 = bLastOff;
        TVec z = TOps.Zero;
        TVec s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
        for (int q = 0; q < k; q++)
        {
            TVec xv = TOps.Splat(x[q * incx]);
            T* p = b + q * ldb;
            s0 = TOps.MulAdd(xv, TOps.Load(p + o0), s0);
            if (nv > 1) s1 = TOps.MulAdd(xv, TOps.Load(p + o1), s1);
            if (nv > 2) s2 = TOps.MulAdd(xv, TOps.Load(p + o2), s2);
            if (nv > 3) s3 = TOps.MulAdd(xv, TOps.Load(p + o3), s3);
            if (nv > 4) s4 = TOps.MulAdd(xv, TOps.Load(p + o4), s4);
            if (nv > 5) s5 = TOps.MulAdd(xv, TOps.Load(p + o5), s5);
            if (nv > 6) s6 = TOps.MulAdd(xv, TOps.Load(p + o6), s6);
            if (nv > 7) s7 = TOps.MulAdd(xv, TOps.Load(p + o7), s7);
        }

        if (nv == 1)
        {
            // a lone (possibly tail) vector: masked store, the lanes it overlaps were finished by an earlier block
            GemmCore.Last<T, TVec, TOps>(y + lastOff, s0, mask, tail, acc);
            return;
        }
        // Multi-vector block with an overlapped tail: read the last vector's old y before any store (see GemmCore.StoreRow).
        TVec old = tail && acc ? TOps.Load(y + lastOff) : z;
        TVec last = nv switch { 2 => s1, 3 => s2, 4 => s3, 5 => s4, 6 => s5, 7 => s6, _ => s7 };
        GemmCore.Put<T, TVec, TOps>(y + o0, s0, acc);
        if (nv > 2) GemmCore.Put<T, TVec, TOps>(y + o1, s1, acc);
        if (nv > 3) GemmCore.Put<T, TVec, TOps>(y + o2, s2, acc);
        if (nv > 4) GemmCore.Put<T, TVec, TOps>(y + o3, s3, acc);
        if (nv > 5) GemmCore.Put<T, TVec, TOps>(y + o4, s4, acc);
        if (nv > 6) GemmCore.Put<T, TVec, TOps>(y + o5, s5, acc);
        if (nv > 7) GemmCore.Put<T, TVec, TOps>(y + o6, s6, acc);
        if (tail) TOps.Store(y + lastOff, acc ? TOps.Add(old, last) : last);
        else GemmCore.Put<T, TVec, TOps>(y + lastOff, last, acc);
    }
}
