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

    [TestCase(float.NaN, 0, 2, false)]
    [TestCase(float.PositiveInfinity, 37, 2, false)]
    [TestCase(float.NegativeInfinity, 99, 1, false)]
    [TestCase(-8.507059e37f, 50, 2, false)]     // −2^126: times 4 (the power of two at or above 2·2) is −2^128, infinite
    [TestCase(8.507058e37f, 98, 2, true)]       // just below 2^126
    [TestCase(1.7014118e38f, 98, 1, false)]     // 2^127 times 2
    [TestCase(1.7014116e38f, 98, 1, true)]
    [TestCase(1f, -1, 3, true)]
    public void Float32SummableOver_BoundsEveryValue(float special, int at, int stores, bool expected)
    {
        var (ps, g) = Store(Tensor.FromArray(Values(3, 0.5f, -1), 3), Tensor.FromArray(Values(100, special, at), 100));
        Assert.That(g.Float32SummableOver(ps, stores), Is.EqualTo(expected));
    }

    [Test]
    public void Float32SummableOver_IsFalseWithAFloat64Gradient_AndItsBoundKeepsTheSumFinite()
    {
        var (ps, g) = Store(Tensor.FromArray(Values(3, 0.5f, -1), 3), Tensor.FromArray(new double[] { 0.5 }, 1));
        Assert.That(g.Float32SummableOver(ps, 2), Is.False);
        Assert.That(() => g.Float32SummableOver(ps, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => g.Float32SummableOver(ps, Gradients.MaxSummedStores + 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        foreach (int stores in new[] { 1, 2, 3, 5, 16 })
        {
            // the largest value that passes, summed stores times, is finite
            float largest = float.BitDecrement(MathF.Pow(2, 128 - MathF.Ceiling(MathF.Log2(2 * stores))));
            var (qs, h) = Store(Tensor.FromArray(new[] { largest, -1f }, 2));
            Assert.That(h.Float32SummableOver(qs, stores), Is.True, $"{stores} stores");
            float sum = 0;
            for (int s = 0; s < stores; s++) sum += largest;
            Assert.That(float.IsFinite(sum), Is.True, $"{stores} stores");
            var (rs, k) = Store(Tensor.FromArray(new[] { float.BitIncrement(largest), -1f }, 2));
            Assert.That(k.Float32SummableOver(rs, stores), Is.False, $"{stores} stores, just above");
        }
    }
}
