using System.Numerics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Rnnx.Kernels.Reference;

/// <summary>
/// Scalar twin of <see cref="GemmCore"/>'s arithmetic on a <see cref="GemmPlan{T}"/> (N &gt; 1, vector paths), the exact
/// oracle for <see cref="LongReductionGemm"/>: the reduction loop normalised as the engine does and cut into its k
/// blocks; per block each element sums its products in increasing k order in one accumulator starting at zero (fused
/// where the engine's vector multiply-add is), then adds the previous C once.
/// </summary>
internal static unsafe class ReferenceGemmPlan
{
    public static void Run<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool fused = Fma.IsSupported || AdvSimd.Arm64.IsSupported;
        KLoop k = Normalized(p.K);
        int block = k.Outer == 1 ? GemmCore.KBlock : k.Inner;
        for (int r = 0; r < p.M; r++)
        {
            T* a = p.A + r / p.RowsPerGroup * p.AGroup + r % p.RowsPerGroup * p.ARow;
            T* c = p.C + r / p.RowsPerGroup * p.CGroup + r % p.RowsPerGroup * p.CRow;
            for (int j = 0; j < p.N; j++)
            {
                for (int q0 = 0; q0 < k.Inner; q0 += block)
                {
                    T s = T.Zero;
                    for (int o = 0; o < k.Outer; o++)
                    for (int q = q0; q < Math.Min(q0 + block, k.Inner); q++)
                    {
                        T x = a[o * k.AOuter + q * k.AInner], b = p.B[o * k.BOuter + q * k.BInner + j];
                        s = fused ? T.FusedMultiplyAdd(x, b, s) : x * b + s;
                    }
                    c[j] = p.Accumulate || q0 > 0 ? c[j] + s : s;
                }
            }
        }
    }

    /// <summary>
    /// The engine's loop rule, written out here so that a slip in it shows against this twin: two loops that walk one
    /// contiguous run (the outer step is the whole inner run, in A and in B) become one loop; then the longer loop is inner.
    /// </summary>
    private static KLoop Normalized(in KLoop k)
    {
        var c = k;
        if (k.Outer > 1 && k.AOuter == k.Inner * k.AInner && k.BOuter == k.Inner * k.BInner)
            c = KLoop.Simple(k.Outer * k.Inner, k.AInner, k.BInner);
        return c.Inner < c.Outer ? new KLoop(c.Inner, c.AInner, c.BInner, c.Outer, c.AOuter, c.BOuter) : c;
    }
}
