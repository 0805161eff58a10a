namespace Rnnx.Tests.Autodiff;

/// <summary>Gradients.HasFiniteNorm answers exactly whether GlobalNorm is finite (training's divergence check).</summary>
public class GradientsNormTests
{
    private static (Parameter[] Parameters, Gradients Gradients) Store(params Tensor[] values)
    {
        var ps = values.Select((v, i) => new Parameter($"p{i}", Tensor.Zeros(v.Shape, v.DType))).ToArray();
        var g = new Gradients();
        for (int i = 0; i < ps.Length; i++)
        {
            if (values[i].DType == DType.Float32) values[i].AsSpan<float>().CopyTo(g.GetSpan<float>(ps[i]));
            else values[i].AsSpan<double>().CopyTo(g.GetSpan<double>(ps[i]));
        }
        return (ps, g);
    }

    private static float[] Values(int n, float special, int at)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 7 - 3) * 0.25f;
        if (at >= 0) v[at] = special;
        return v;
    }

    [TestCase(float.NaN, 0)]
    [TestCase(float.PositiveInfinity, 37)]
    [TestCase(float.NegativeInfinity, 99)]
    [TestCase(float.MaxValue, 50)]     // the largest finite float: its square still fits a double
    [TestCase(1f, -1)]
    public void Float32_AgreesWithGlobalNorm(float special, int at)
    {
        // 100 values: the vectorized body and the scalar tail both see the special value somewhere in the cases
        var (ps, g) = Store(Tensor.FromArray(Values(3, 0.5f, -1), 3), Tensor.FromArray(Values(100, special, at), 100));
        bool expected = double.IsFinite(g.GlobalNorm(ps));
        Assert.That(g.HasFiniteNorm(ps), Is.EqualTo(expected));
        Assert.That(expected, Is.EqualTo(float.IsFinite(special) || at < 0));
    }

    [Test]
    public void Float64_OverflowingSquares_AreNotFinite()
    {
        // every value finite, but 1e200² overflows the double sum: GlobalNorm is infinite, and so is the answer
        var (ps, g) = Store(Tensor.FromArray([1.0, 1e200, 2.0], 3).Copy(DType.Float64), Tensor.FromArray(Values(40, 1f, -1), 40));
        Assert.That(double.IsFinite(g.GlobalNorm(ps)), Is.False);
        Assert.That(g.HasFiniteNorm(ps), Is.False);
        var (ok, gOk) = Store(Tensor.FromArray([1.0, 1e100, 2.0], 3).Copy(DType.Float64));
        Assert.That(gOk.HasFiniteNorm(ok), Is.True);
    }

    [TestCase(float.NaN, 0, false)]
    [TestCase(float.PositiveInfinity, 37, false)]
    [TestCase(float.NegativeInfinity, 99, false)]
    [TestCase(-2f, 50, false)]     // |−2| is not below the bound 2
    [TestCase(1.9999999f, 98, true)]
    [TestCase(1f, -1, true)]
    public void Float32MagnitudesBelow_ChecksEveryValue(float special, int at, bool expected)
    {
        var (ps, g) = Store(Tensor.FromArray(Values(3, 0.5f, -1), 3), Tensor.FromArray(Values(100, special, at), 100));
        Assert.That(g.Float32MagnitudesBelow(ps, 2f), Is.EqualTo(expected));
    }

    [Test]
    public void Float32MagnitudesBelow_IsFalseWithAFloat64Gradient_AndBoundsTheSumOfParts()
    {
        var (ps, g) = Store(Tensor.FromArray(Values(3, 0.5f, -1), 3), Tensor.FromArray(new double[] { 0.5 }, 1));
        Assert.That(g.Float32MagnitudesBelow(ps, 2f), Is.False);
        // Two parts each below MaxValue / 2: their float32 sum is finite, however large.
        float big = float.MaxValue / 2;
        var (qs, h) = Store(Tensor.FromArray(new[] { float.BitDecrement(big), -1f }, 2));
        Assert.That(h.Float32MagnitudesBelow(qs, big), Is.True);
        Assert.That(float.IsFinite(float.BitDecrement(big) + float.BitDecrement(big)), Is.True);
        var (rs, k) = Store(Tensor.FromArray(new[] { big, 0f }, 2));
        Assert.That(k.Float32MagnitudesBelow(rs, big), Is.False);
    }
}
