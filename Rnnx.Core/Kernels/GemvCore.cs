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
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count && CpuTraits.Use512(n, Vector512<T>.Count))
            Run<T, Vector512<T>, Simd512<T>>(n, k, x, incx, b, ldb, y, accumulate);
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
            Run<T, Vector256<T>, Simd256<T>>(n, k, x, incx, b, ldb, y, accumulate);
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<T>.Count)
            Run<T, Vector128<T>, Simd128<T>>(n, k, x, incx, b, ldb, y, accumulate);
        else
            Run<T, T, Scalar<T>>(n, k, x, incx, b, ldb, y, accumulate);
    }

    private static void Run<T, TVec, TOps>(int n, int k, T* x, nint incx, T* b, nint ldb, T* y, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        int nvec = (n + w - 1) / w;
        bool hasTail = n % w != 0;
        int kc = GemmCore.KBlock;
        for (int q0 = 0; q0 < k; q0 += kc)
        {
            int kq = Math.Min(kc, k - q0);
            T* xq = x + q0 * incx;
            T* bq = b + q0 * ldb;
            bool acc = accumulate || q0 > 0;
            int j = 0, remaining = nvec;
            while (remaining > 0)
            {
                int nv = Math.Min(remaining, 8);
                // as GemmCore: keep an overlapped tail vector inside a multi-vector block
                if (hasTail && remaining - nv == 1 && nv > 1)
                    nv--;
                remaining -= nv;
                bool tail = remaining == 0 && hasTail;
                nint lastOff = tail ? n - w - j : (nv - 1) * w;
                TVec mask = tail ? TOps.TailMask(j + nv * w - n) : default;
                T* yj = y + j, bj = bq + j;
                switch (nv)
                {
                    case 1: Block<T, TVec, TOps, C1>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 2: Block<T, TVec, TOps, C2>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 3: Block<T, TVec, TOps, C3>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 4: Block<T, TVec, TOps, C4>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 5: Block<T, TVec, TOps, C5>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 6: Block<T, TVec, TOps, C6>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    case 7: Block<T, TVec, TOps, C7>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                    default: Block<T, TVec, TOps, C8>(kq, xq, incx, bj, ldb, yj, lastOff, mask, tail, acc); break;
                }
                j += nv * w;
            }
        }
    }

    /// <summary>NV vectors of y over the whole k range; vector v sits at v*W except the last, at lastOff.</summary>
    private static void Block<T, TVec, TOps, TNv>(int k, T* x, nint incx, T* b, nint ldb, T* y, nint lastOff, TVec mask, bool tail, bool acc)
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
        nint o3 = nv == 4 ? lastOff : 3 * w;
        nint o4 = nv == 5 ? lastOff : 4 * w;
        nint o5 = nv == 6 ? lastOff : 5 * w;
        nint o6 = nv == 7 ? lastOff : 6 * w;
        nint o7 = lastOff;
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
            GemmCore.Last<T, TVec, TOps>(y + o0, s0, mask, tail, acc);
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
