using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;
using Lanes1 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Scalar<float>>;
using Lanes4 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd128<float>>;
using Lanes8 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd256<float>>;
using Lanes16 = Rnnx.Kernels.OneRow<float, Rnnx.Simd.Simd512<float>>;

namespace Rnnx.Kernels;

/// <summary>The per-step element-wise kernels of the fused SimpleRNN sequence (spans and integers; gate rows strided by their leading dimensions).</summary>
internal static class SimpleRnnKernels
{
    /// <summary>h (rows, ldh) = act(z) (rows, ldz).</summary>
    internal static void ForwardStep<T>(CellActivation act, int rows, int u, Span<T> z, int ldz, Span<T> h, int ldh) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pz = ref FirstAs<T, float>(z);
            ref float ph = ref FirstAs<T, float>(h);
            int paired = PairedRows(rows, j8, j4);
            Fwd<float, Simd512<float>, Lanes16>(act, 0, rows, ref pz, ldz, ref ph, ldh, 0, j16);
            Fwd<float, Simd256<float>, Lanes8>(act, 0, rows, ref pz, ldz, ref ph, ldh, j16, j8);
            Fwd<float, Simd256<float>, RowPair>(act, 0, paired, ref pz, ldz, ref ph, ldh, j8, j4);
            Fwd<float, Simd128<float>, Lanes4>(act, paired, rows, ref pz, ldz, ref ph, ldh, j8, j4);
            Fwd<float, Scalar<float>, Lanes1>(act, 0, rows, ref pz, ldz, ref ph, ldh, j4, u);
        }
        else Fwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(act, 0, rows, ref FirstAs<T, double>(z), ldz, ref FirstAs<T, double>(h), ldh, 0, u);
    }

    private static void Fwd<T, V, L>(CellActivation act, int b0, int b1, ref T z, int ldz, ref T h, int ldh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T zr = ref Unsafe.Add(ref z, (nint)b * ldz);
            ref T zr2 = ref Unsafe.Add(ref z, (nint)b2 * ldz);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                var v = L.Load(ref zr, ref zr2, j);
                v = act switch { CellActivation.Tanh => V.Tanh(v), CellActivation.Relu => V.Relu(v), CellActivation.Sigmoid => V.Sigmoid(v), _ => v };
                L.Store(v, ref hr, ref hr2, j);
            }
        }
    }

    /// <summary>dz = (dH + dhNext) ⊙ act'(h), with act' written in terms of the output h.</summary>
    internal static void BackwardStep<T>(CellActivation act, int rows, int u, ReadOnlySpan<T> dH, int ldH, ReadOnlySpan<T> dhNext,
        ReadOnlySpan<T> h, int ldh, Span<T> dz, int ldz) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(u);
            int j16 = SplitFloat16(u);
            ref float pdH = ref FirstAs<T, float>(dH);
            ref float pdn = ref FirstAs<T, float>(dhNext);
            ref float ph = ref FirstAs<T, float>(h);
            ref float pdz = ref FirstAs<T, float>(dz);
            // no row pairs here: the backward math is light, and joining and splitting the halves costs what the
            // shared evaluation saves (measured: docs/performance.md)
            Bwd<float, Simd512<float>, Lanes16>(act, 0, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, 0, j16);
            Bwd<float, Simd256<float>, Lanes8>(act, 0, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j16, j8);
            Bwd<float, Simd128<float>, Lanes4>(act, 0, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j8, j4);
            Bwd<float, Scalar<float>, Lanes1>(act, 0, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j4, u);
        }
        else Bwd<double, Scalar<double>, OneRow<double, Scalar<double>>>(act, 0, rows, u, ref FirstAs<T, double>(dH), ldH, ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(h), ldh, ref FirstAs<T, double>(dz), ldz, 0, u);
    }

    private static void Bwd<T, V, L>(CellActivation act, int b0, int b1, int u, ref T dH, int ldH, ref T dhNext, ref T h, int ldh, ref T dz, int ldz, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T> where L : IRowLanes<T, V>
    {
        for (int b = b0; b < b1; b += L.Rows)
        {
            int b2 = b + L.Rows - 1;
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldH);
            ref T dHr2 = ref Unsafe.Add(ref dH, (nint)b2 * ldH);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T dnr2 = ref Unsafe.Add(ref dhNext, (nint)b2 * u);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T hr2 = ref Unsafe.Add(ref h, (nint)b2 * ldh);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * ldz);
            ref T dzr2 = ref Unsafe.Add(ref dz, (nint)b2 * ldz);
            for (int j = j0; j < j1; j += V.Count / L.Rows)
            {
                var g = L.Load(ref dHr, ref dHr2, j) + L.Load(ref dnr, ref dnr2, j);
                var y = L.Load(ref hr, ref hr2, j);
                g = act switch
                {
                    CellActivation.Tanh => g * (V.One - y * y),
                    CellActivation.Sigmoid => g * y * (V.One - y),
                    CellActivation.Relu => V.WherePositive(y, g),
                    _ => g,
                };
                L.Store(g, ref dzr, ref dzr2, j);
            }
        }
    }
}
