using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;

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
            ref float pz = ref FirstAs<T, float>(z);
            ref float ph = ref FirstAs<T, float>(h);
            Fwd<float, Simd256<float>>(act, rows, ref pz, ldz, ref ph, ldh, 0, j8);
            Fwd<float, Simd128<float>>(act, rows, ref pz, ldz, ref ph, ldh, j8, j4);
            Fwd<float, Scalar<float>>(act, rows, ref pz, ldz, ref ph, ldh, j4, u);
        }
        else Fwd<double, Scalar<double>>(act, rows, ref FirstAs<T, double>(z), ldz, ref FirstAs<T, double>(h), ldh, 0, u);
    }

    private static void Fwd<T, V>(CellActivation act, int rows, ref T z, int ldz, ref T h, int ldh, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T zr = ref Unsafe.Add(ref z, (nint)b * ldz);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            for (int j = j0; j < j1; j += V.Count)
            {
                var v = V.Load(ref zr, j);
                v = act switch { CellActivation.Tanh => V.Tanh(v), CellActivation.Relu => V.Relu(v), CellActivation.Sigmoid => V.Sigmoid(v), _ => v };
                V.Store(v, ref hr, j);
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
            ref float pdH = ref FirstAs<T, float>(dH);
            ref float pdn = ref FirstAs<T, float>(dhNext);
            ref float ph = ref FirstAs<T, float>(h);
            ref float pdz = ref FirstAs<T, float>(dz);
            Bwd<float, Simd256<float>>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, 0, j8);
            Bwd<float, Simd128<float>>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j8, j4);
            Bwd<float, Scalar<float>>(act, rows, u, ref pdH, ldH, ref pdn, ref ph, ldh, ref pdz, ldz, j4, u);
        }
        else Bwd<double, Scalar<double>>(act, rows, u, ref FirstAs<T, double>(dH), ldH, ref FirstAs<T, double>(dhNext), ref FirstAs<T, double>(h), ldh, ref FirstAs<T, double>(dz), ldz, 0, u);
    }

    private static void Bwd<T, V>(CellActivation act, int rows, int u, ref T dH, int ldH, ref T dhNext, ref T h, int ldh, ref T dz, int ldz, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdMath<V, T>
    {
        for (int b = 0; b < rows; b++)
        {
            ref T dHr = ref Unsafe.Add(ref dH, (nint)b * ldH);
            ref T dnr = ref Unsafe.Add(ref dhNext, (nint)b * u);
            ref T hr = ref Unsafe.Add(ref h, (nint)b * ldh);
            ref T dzr = ref Unsafe.Add(ref dz, (nint)b * ldz);
            for (int j = j0; j < j1; j += V.Count)
            {
                var g = V.Load(ref dHr, j) + V.Load(ref dnr, j);
                var y = V.Load(ref hr, j);
                g = act switch
                {
                    CellActivation.Tanh => g * (V.One - y * y),
                    CellActivation.Sigmoid => g * y * (V.One - y),
                    CellActivation.Relu => V.WherePositive(y, g),
                    _ => g,
                };
                V.Store(g, ref dzr, j);
            }
        }
    }
}
