using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// One time step of LSTM inference on a large batch (the time-major path), row chunk by row chunk: a chunk's gate
/// block is written by x_t·W, h·R is added into it and the gate math turns it into c and h while it is still in L1,
/// instead of three passes over the whole B x 4U block (512 KiB at 256 series and 128 units: L2-sized, so partly
/// evicted to L3 between the passes). Each element goes through the same products (the packed engine's arithmetic does
/// not depend on the rows it is given) and the same gate math as an unchunked step, so the same numbers for any
/// chunking.
/// </summary>
internal static class LstmBatchInference
{
    /// <summary>Bytes of one chunk's gate block: it and the packed kernels' current panel share the 32 KiB L1.</summary>
    private const int ChunkBytes = 24 * 1024;

    /// <summary>
    /// Largest packed recurrent kernel re-read chunk after chunk: up to this it stays in the 512 KiB L2; a larger one
    /// would be streamed from L3 for every chunk, so the whole row range is one chunk (the packed engine's own row
    /// blocks then share each panel among many rows).
    /// </summary>
    private const int ResidentBytes = 256 * 1024;

    /// <summary>Rows of one chunk of a <paramref name="rows"/>-row step: a multiple of the micro-tile height, or all of them.</summary>
    internal static unsafe int ChunkRows<T>(int rows, int units) where T : unmanaged
    {
        long rowBytes = 4L * units * sizeof(T);
        if (units * rowBytes > ResidentBytes) return rows;
        int chunk = (int)Math.Max(1, ChunkBytes / rowBytes) / PackedGemmCore.MaxRows * PackedGemmCore.MaxRows;
        return Math.Clamp(chunk, Math.Min(rows, PackedGemmCore.MaxRows), Math.Max(rows, 1));
    }

    /// <summary>Scratch elements <see cref="Step{T}"/> needs: one chunk's gate block and, for float64, its tanh(c) and h.</summary>
    internal static int ScratchLength<T>(int batch, int units) where T : unmanaged => ChunkRows<T>(batch, units) * (typeof(T) == typeof(float) ? 4 : 6) * units;

    /// <summary>
    /// One step: z = x_t·W + h_{k-1}·R (W, R packed by <see cref="PackedGemm.Pack{T}"/>; with more than one feature the
    /// two products tile by tile, <see cref="PackedGemmSum"/>), then the gates with <paramref name="bias"/>:
    /// c = f ⊙ cPrev + i ⊙ g, h = o ⊙ tanh(c) (float32: <see cref="LstmKernels.InferenceStep(int, int, Span{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float}, int, Span{float}, int)"/>,
    /// h written straight into <paramref name="h"/>, a step of the (B, T, U) output, and h_{k-1} read from the previous
    /// one, so no copy and no h buffer; float64: <see cref="LstmKernels.ForwardStep{T}"/>, h copied into place from
    /// the chunk's scratch). On the calling thread (a model's Predict splits many series over its threads by rows
    /// already); a product is split over the thread's team, if it has one.
    /// </summary>
    /// <param name="batch">Rows B.</param>
    /// <param name="units">U.</param>
    /// <param name="features">F.</param>
    /// <param name="x">x_t: row b at b·<paramref name="ldx"/>.</param>
    /// <param name="ldx">Row stride of x_t.</param>
    /// <param name="w">The input kernel (F x 4U).</param>
    /// <param name="packedW">The input kernel, packed.</param>
    /// <param name="packedR">The recurrent kernel (U x 4U), packed.</param>
    /// <param name="bias">The bias (4U; zeros for none).</param>
    /// <param name="hPrev">h_{k-1}: row b at b·<paramref name="ldhPrev"/>.</param>
    /// <param name="ldhPrev">Row stride of h_{k-1}.</param>
    /// <param name="cPrev">c_{k-1} (B x U).</param>
    /// <param name="c">c_k (B x U).</param>
    /// <param name="h">h_k: row b at b·<paramref name="ldh"/> (T·U for a step of a (B, T, U) sequence).</param>
    /// <param name="ldh">Row stride of <paramref name="h"/>.</param>
    /// <param name="scratch"><see cref="ScratchLength{T}"/> elements.</param>
    internal static void Step<T>(int batch, int units, int features, ReadOnlySpan<T> x, int ldx, ReadOnlySpan<T> w, ReadOnlySpan<T> packedW, ReadOnlySpan<T> packedR,
        ReadOnlySpan<T> bias, ReadOnlySpan<T> hPrev, int ldhPrev, ReadOnlySpan<T> cPrev, Span<T> c, Span<T> h, int ldh, Span<T> scratch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int g4 = 4 * units, chunk = ChunkRows<T>(batch, units);
        if (batch > 0 && (ldh < units || ldhPrev < units || (batch - 1) * (long)ldh + units > h.Length || (batch - 1) * (long)ldhPrev + units > hPrev.Length
            || (long)batch * units > Math.Min(c.Length, cPrev.Length) || scratch.Length < ScratchLength<T>(batch, units) || bias.Length < g4))
            throw new ArgumentException($"LstmBatchInference.Step: {batch} rows of {units} units with strides {ldhPrev} (h_k-1) and {ldh} (h_k) do not fit h_k-1 ({hPrev.Length}), h_k ({h.Length}), c ({cPrev.Length}, {c.Length}), the scratch ({scratch.Length}) or the bias ({bias.Length}, needs {g4}).");
        var z = scratch[..(chunk * g4)];
        bool isFloat = typeof(T) == typeof(float);
        Span<T> tc = isFloat ? default : scratch.Slice(chunk * g4, chunk * units), hs = isFloat ? default : scratch.Slice(chunk * 5 * units, chunk * units);
        // one feature: the packed engine would run x_t·W as k = 1 tiles (one multiply-add each, the tile's overhead
        // around it); RankOne performs the same multiply-add per element
        bool rankOne = features == 1 && PackedGemmCore.PanelWidth<T>(g4) != 0;
        for (int s = 0; s < batch; s += chunk)
        {
            int rows = Math.Min(chunk, batch - s);
            if (rankOne)
            {
                RankOne<T>(rows, g4, x[(s * ldx)..], ldx, w, z, g4);
                PackedGemm.Gemm<T>(false, rows, g4, units, hPrev[(s * ldhPrev)..], ldhPrev, packedR, z, g4, true);
            }
            else
            {
                PackedGemmSum.Gemm<T>(rows, g4, features, x[(s * ldx)..], ldx, packedW, units, hPrev[(s * ldhPrev)..], ldhPrev, packedR, z, g4);
            }
            int o = s * units;
            if (isFloat)
            {
                LstmKernels.InferenceStep(rows, units, RecurrentKernels.AsFloat(z), g4, RecurrentKernels.AsFloat(bias), RecurrentKernels.AsFloat(cPrev[o..]),
                    units, RecurrentKernels.AsFloat(c[o..]), units, RecurrentKernels.AsFloat(h[(s * ldh)..]), ldh);
            }
            else
            {
                LstmKernels.ForwardStep<T>(rows, units, z, g4, bias, cPrev[o..], units, c[o..], tc, hs, units);
                for (int r = 0; r < rows; r++)
                    hs.Slice(r * units, units).CopyTo(h.Slice((s + r) * ldh, units));
            }
        }
    }

    /// <summary>
    /// z[r, j] = x_r · w_j for r &lt; rows, j &lt; n (the product of a one-feature x_t by the 1 x n input kernel) as
    /// MulAdd(x_r, w_j, 0), the multiply-add from zero that the packed engine's tile performs for k = 1 before it
    /// stores the accumulator: the same bits as <see cref="PackedGemm.Gemm{T}"/> with k = 1 on the packed path
    /// (<see cref="PackedGemmCore.PanelWidth{T}"/> nonzero; its lanes fuse exactly when <see cref="ISimdVector{TSelf, T}.MulAdd"/>
    /// does, at every width). Twin: <see cref="Reference.ReferenceMatMul.GemmInEngineOrder{T}"/> with k = 1.
    /// </summary>
    /// <param name="rows">Rows.</param>
    /// <param name="n">Columns.</param>
    /// <param name="x">x_r at r·<paramref name="ldx"/>.</param>
    /// <param name="ldx">Row stride of x.</param>
    /// <param name="w">The n weights.</param>
    /// <param name="z">Destination, row stride <paramref name="ldz"/>.</param>
    /// <param name="ldz">Row stride of z.</param>
    internal static void RankOne<T>(int rows, int n, ReadOnlySpan<T> x, int ldx, ReadOnlySpan<T> w, Span<T> z, int ldz)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || n == 0) return;
        if ((rows - 1) * (long)ldx >= x.Length || w.Length < n || (rows - 1) * (long)ldz + n > z.Length)
            throw new ArgumentException($"LstmBatchInference.RankOne: {rows} x {n} with ldx {ldx}, ldz {ldz} does not fit x ({x.Length}), w ({w.Length}), z ({z.Length}).");
        int n8 = Vector256.IsHardwareAccelerated ? n - n % Simd256<T>.Count : 0;
        int n4 = Vector128.IsHardwareAccelerated ? n8 + (n - n8) / Simd128<T>.Count * Simd128<T>.Count : n8;
        ref T px = ref RecurrentKernels.FirstAs<T, T>(x);
        ref T pw = ref RecurrentKernels.FirstAs<T, T>(w);
        ref T pz = ref RecurrentKernels.FirstAs<T, T>(z);
        for (int r = 0; r < rows; r++)
        {
            T xr = Unsafe.Add(ref px, (nint)r * ldx);
            ref T zr = ref Unsafe.Add(ref pz, (nint)r * ldz);
            RankOneRow<T, Simd256<T>>(xr, ref pw, ref zr, 0, n8);
            RankOneRow<T, Simd128<T>>(xr, ref pw, ref zr, n8, n4);
            RankOneRow<T, Scalar<T>>(xr, ref pw, ref zr, n4, n);
        }
    }

    private static void RankOneRow<T, V>(T xr, ref T w, ref T z, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        var xv = V.Create(xr);
        for (int j = j0; j < j1; j += V.Count)
            V.Store(V.MulAdd(xv, V.Load(ref w, j), V.Zero), ref z, j);
    }
}
