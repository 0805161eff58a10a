using System.Runtime.Intrinsics;
using Rnnx.Kernels;
using Rnnx.Simd;
using Rnnx.Random;

namespace Rnnx.Tests.Kernels;

/// <summary>The fused recurrent kernels' float sigmoid and tanh (one generic body over the SIMD width structs): accuracy, identical lanes at every width, special values.</summary>
public class FastMathTests
{
    private static float[] Inputs()
    {
        var rng = new NumPyRandomState(12);
        var list = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 3e-4f, 5e-4f, -5e-4f, 1f, -1f, 7.9f, 8f, -8f, 9f, 20f, -20f, 87f, -87f, 88.5f, -88.5f, 100f, -100f };
        foreach (double scale in new[] { 1e-3, 0.1, 1, 4, 12, 90 })
            for (int i = 0; i < 20000; i++) list.Add((float)((2 * rng.NextDouble() - 1) * scale));
        while (list.Count % 8 != 0) list.Add(0.5f);
        return list.ToArray();
    }

    private static double Ulps(float got, double exact)
    {
        float e = (float)exact;
        double ulp = Math.Max(MathF.BitIncrement(MathF.Abs(e)) - MathF.Abs(e), float.Epsilon);
        return Math.Abs(got - exact) / ulp;
    }

    [Test]
    public void AccurateAndIdenticalAcrossLaneWidths()
    {
        var x = Inputs();
        double worstSigmoid = 0, worstTanh = 0;
        for (int i = 0; i < x.Length; i += 8)
        {
            var s8 = FastMath.Sigmoid(new Simd256<float>(Vector256.Create(x.AsSpan(i, 8)))).Value;
            var t8 = FastMath.Tanh(new Simd256<float>(Vector256.Create(x.AsSpan(i, 8)))).Value;
            var s4 = FastMath.Sigmoid(new Simd128<float>(Vector128.Create(x.AsSpan(i, 4)))).Value;
            var t4 = FastMath.Tanh(new Simd128<float>(Vector128.Create(x.AsSpan(i, 4)))).Value;
            for (int l = 0; l < 8; l++)
            {
                float v = x[i + l];
                float s1 = FastMath.Sigmoid(v), t1 = FastMath.Tanh(v);
                Assert.That(s8[l], Is.EqualTo(s1), $"sigmoid lane 8 vs scalar at {v:R}");
                Assert.That(t8[l], Is.EqualTo(t1), $"tanh lane 8 vs scalar at {v:R}");
                if (l < 4)
                {
                    Assert.That(s4[l], Is.EqualTo(s1), $"sigmoid lane 4 vs scalar at {v:R}");
                    Assert.That(t4[l], Is.EqualTo(t1), $"tanh lane 4 vs scalar at {v:R}");
                }
                double s = 1 / (1 + Math.Exp(-(double)v));
                if (s > 1e-37) worstSigmoid = Math.Max(worstSigmoid, Ulps(s1, s));
                else Assert.That(s1, Is.LessThan(1e-37f));
                worstTanh = Math.Max(worstTanh, Ulps(t1, Math.Tanh(v)));
            }
        }
        TestContext.Out.WriteLine($"max error: sigmoid {worstSigmoid:F2} ulp, tanh {worstTanh:F2} ulp");
        Assert.That(worstSigmoid, Is.LessThanOrEqualTo(3));
        // With FMA the 13/6 rational approximation is within 5 ulp. Without FMA (DOTNET_EnableAVX2=0 or
        // DOTNET_EnableHWIntrinsic=0) each of its 10 multiply-add steps rounds twice; measured 6.5 ulp there.
        Assert.That(worstTanh, Is.LessThanOrEqualTo(System.Runtime.Intrinsics.X86.Fma.IsSupported ? 5 : 7));
    }

    [Test]
    public void SpecialValues()
    {
        Assert.That(float.IsNaN(FastMath.Sigmoid(float.NaN)), Is.True);
        Assert.That(float.IsNaN(FastMath.Tanh(float.NaN)), Is.True);
        Assert.That(float.IsNaN(FastMath.Sigmoid(new Simd256<float>(Vector256.Create(float.NaN))).Value[3]), Is.True);
        Assert.That(float.IsNaN(FastMath.Tanh(new Simd256<float>(Vector256.Create(float.NaN))).Value[5]), Is.True);
        Assert.That(float.IsNaN(FastMath.Sigmoid(new Simd128<float>(Vector128.Create(float.NaN))).Value[1]), Is.True);
        Assert.That(float.IsNaN(FastMath.Tanh(new Simd128<float>(Vector128.Create(float.NaN))).Value[2]), Is.True);
        Assert.That(FastMath.Sigmoid(float.PositiveInfinity), Is.EqualTo(1f));
        Assert.That(FastMath.Sigmoid(float.NegativeInfinity), Is.LessThan(1e-37f).And.GreaterThanOrEqualTo(0f));
        Assert.That(FastMath.Tanh(float.PositiveInfinity), Is.EqualTo(1f));
        Assert.That(FastMath.Tanh(float.NegativeInfinity), Is.EqualTo(-1f));
        Assert.That(FastMath.Tanh(30f), Is.EqualTo(1f));
        Assert.That(FastMath.Sigmoid(0f), Is.EqualTo(0.5f));
        Assert.That(FastMath.Tanh(0f), Is.EqualTo(0f));
        Assert.That(FastMath.Tanh(1e-30f), Is.EqualTo(1e-30f));
    }
}
