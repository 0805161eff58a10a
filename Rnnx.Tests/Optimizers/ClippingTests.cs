using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// Gradient clipping (Keras <c>clipnorm</c>, <c>global_clipnorm</c>, <c>clipvalue</c>; keras-team/keras
/// <c>keras/src/optimizers/base_optimizer.py</c>, <c>_clip_gradients</c>, <c>_clip_by_norm</c>,
/// <c>clip_by_global_norm</c>). The clipped gradient is observed through <see cref="Sgd"/> with lr = 1 from θ = 0,
/// where θ after one step is exactly −(clipped g).
/// </summary>
/// <remarks>Tolerance 1e-7 (float32) against the exact rational or irrational values written beside them.</remarks>
public class ClippingTests
{
    private static float[] ClippedBySgd(Optimizer sgdLrOne, params float[] g)
    {
        var p = Param("w", new float[g.Length]);
        var grads = new Gradients();
        SetGradient(grads, p, g);
        sgdLrOne.Step([p], grads);
        return [.. Values32(p).Select(x => -x)];
    }

    [Test]
    public void ClipNorm_KerasTest()
    {
        // nadam_test.py / adam_test.py test_clip_norm: clipnorm=1, g = [100, 100] -> [√2/2, √2/2]
        // (g·1 / max(√20000, 1) = 100/141.42136).
        var clipped = ClippedBySgd(new Sgd(learningRate: 1) { ClipNorm = 1 }, 100f, 100f);
        Assert.That(clipped, Is.EqualTo(new[] { MathF.Sqrt(2) / 2, MathF.Sqrt(2) / 2 }).Within(1e-7f));
    }

    [Test]
    public void ClipValue_KerasTest()
    {
        // test_clip_value: clipvalue=1, g = [100, 100] -> [1, 1]; elements inside [−1, 1] are unchanged.
        var clipped = ClippedBySgd(new Sgd(learningRate: 1) { ClipValue = 1 }, 100f, 100f, -100f, 0.5f, -0.25f);
        Assert.That(clipped, Is.EqualTo(new[] { 1f, 1f, -1f, 0.5f, -0.25f }));
    }

    [Test]
    public void ClipNorm_IsPerParameter()
    {
        // clipnorm = 1: p1 has g = [3, 4] (norm 5) -> [0.6, 0.8]; p2 has g = [0.3, 0.4] (norm 0.5 ≤ 1) -> g·1/1, unchanged.
        var opt = new Sgd(learningRate: 1) { ClipNorm = 1 };
        var p1 = Param("a", 0f, 0f);
        var p2 = Param("b", 0.0, 0.0);
        var g = new Gradients();
        SetGradient(g, p1, [3f, 4f]);
        SetGradient(g, p2, [0.3, 0.4]);
        opt.Step([p1, p2], g);
        Assert.That(Values32(p1), Is.EqualTo(new[] { -0.6f, -0.8f }).Within(1e-7f));
        Assert.That(Values64(p2), Is.EqualTo(new[] { -0.3, -0.4 }).Within(1e-16));
    }

    [Test]
    public void ClipNorm_ZeroGradientStaysZero()
    {
        // Keras's two-tap where: a zero gradient has norm 0 and is divided by max(0, c) = c, never by 0.
        Assert.That(ClippedBySgd(new Sgd(learningRate: 1) { ClipNorm = 1 }, 0f, 0f, 0f), Is.EqualTo(new[] { 0f, 0f, 0f }));
    }

    [Test]
    public void GlobalClipNorm_ScalesAllGradientsByTheGlobalNorm()
    {
        // global_clipnorm = 1: g1 = [3, 4], g2 = [0, 12] -> global norm √(9 + 16 + 144) = 13, scale 1/13:
        // g1 -> [3/13, 4/13] = [0.23076923, 0.30769231], g2 -> [0, 12/13] = [0, 0.92307692].
        var opt = new Sgd(learningRate: 1) { GlobalClipNorm = 1 };
        var p1 = Param("a", 0f, 0f);
        var p2 = Param("b", 0.0, 0.0);
        var g = new Gradients();
        SetGradient(g, p1, [3f, 4f]);
        SetGradient(g, p2, [0.0, 12.0]);
        opt.Step([p1, p2], g);
        Assert.That(Values32(p1), Is.EqualTo(new[] { -3f / 13, -4f / 13 }).Within(1e-7f));
        Assert.That(Values64(p2), Is.EqualTo(new[] { 0.0, -12.0 / 13 }).Within(1e-15));
    }

    [Test]
    public void GlobalClipNorm_BelowThresholdLeavesGradientsAsIs()
    {
        // global norm 0.5 < c = 2: scale = 2·min(1/0.5, 1/2) = 1.
        var clipped = ClippedBySgd(new Sgd(learningRate: 1) { GlobalClipNorm = 2 }, 0.3f, 0.4f);
        Assert.That(clipped, Is.EqualTo(new[] { 0.3f, 0.4f }));
    }

    [Test]
    public void GlobalClipNorm_NonFiniteNormMakesEveryGradientNaN()
    {
        // clip_by_global_norm: scale = c·min(1/n, 1/c) + (n − n) is NaN when n is infinite, for every parameter.
        var opt = new Sgd(learningRate: 1) { GlobalClipNorm = 1 };
        var p1 = Param("a", 0f, 0f);
        var p2 = Param("b", 0f);
        var g = new Gradients();
        SetGradient(g, p1, [float.PositiveInfinity, 1f]);
        SetGradient(g, p2, [1f]);
        opt.Step([p1, p2], g);
        Assert.That(Values32(p1).Concat(Values32(p2)), Is.All.NaN);
    }

    [Test]
    public void GlobalClipNorm_IgnoresFrozenParameters()
    {
        // The frozen parameter's huge gradient does not enter the global norm (Keras clips only the trainable
        // variables' gradients): norm = 5, scale 1/5.
        var opt = new Sgd(learningRate: 1) { GlobalClipNorm = 1 };
        var p = Param("a", 0f, 0f);
        var frozen = new Parameter("frozen", Tensor.FromArray([7f], 1), trainable: false);
        var g = new Gradients();
        SetGradient(g, p, [3f, 4f]);
        SetGradient(g, frozen, [1000f]);
        opt.Step([p, frozen], g);
        Assert.That(Values32(p), Is.EqualTo(new[] { -0.6f, -0.8f }).Within(1e-7f));
        Assert.That(Values32(frozen), Is.EqualTo(new[] { 7f }));
    }

    [TestCase("ClipNorm")]
    [TestCase("GlobalClipNorm")]
    [TestCase("ClipValue")]
    public void Clipping_DoesNotModifyCallerGradients(string mode)
    {
        var opt = new Adam();
        switch (mode)
        {
            case "ClipNorm": opt.ClipNorm = 0.1; break;
            case "GlobalClipNorm": opt.GlobalClipNorm = 0.1; break;
            default: opt.ClipValue = 0.1; break;
        }
        var p32 = Param("a", 1f, 2f, 3f);
        var p64 = Param("b", 1.0, 2.0);
        var g = new Gradients();
        float[] g32 = [5f, -6f, 7f];
        double[] g64 = [-8.0, 9.0];
        for (int s = 0; s < 3; s++)
        {
            SetGradient(g, p32, g32);
            SetGradient(g, p64, g64);
            opt.Step([p32, p64], g);
            Assert.That(g.GetSpan<float>(p32).ToArray(), Is.EqualTo(g32));
            Assert.That(g.GetSpan<double>(p64).ToArray(), Is.EqualTo(g64));
        }
    }

    [Test]
    public void ClippedGradient_FeedsTheUpdate()
    {
        // Adam with clipnorm = 1 on g = [3, 4] takes exactly the same steps as Adam without clipping on g = [0.6, 0.8]
        // computed the Keras way in float32: (g·1)/max(5, 1).
        var clippedOpt = new Adam(learningRate: 0.1) { ClipNorm = 1 };
        var plainOpt = new Adam(learningRate: 0.1);
        var a = Param("a", 1f, -1f);
        var b = Param("b", 1f, -1f);
        var g = new Gradients();
        for (int s = 0; s < 4; s++)
        {
            SetGradient(g, a, [3f, 4f]);
            SetGradient(g, b, [3f * 1f / 5f, 4f * 1f / 5f]);
            clippedOpt.Step([a], g);
            plainOpt.Step([b], g);
            Assert.That(Values32(a), Is.EqualTo(Values32(b)), $"step {s + 1}");
        }
    }

    [Test]
    public void OnlyOneClippingOption_CanBeSet()
    {
        // Keras: "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set."
        var opt = new Nadam { ClipNorm = 1 };
        Assert.Throws<InvalidOperationException>(() => opt.GlobalClipNorm = 1);
        Assert.Throws<InvalidOperationException>(() => opt.ClipValue = 1);
        Assert.DoesNotThrow(() => opt.ClipNorm = 2);     // replacing the same option is fine
        opt.ClipNorm = null;
        Assert.DoesNotThrow(() => opt.ClipValue = 0.5);
        Assert.That(opt.ClipValue, Is.EqualTo(0.5));
    }

    [Test]
    public void ClippingOptions_RejectNonPositiveValues()
    {
        var opt = new Sgd();
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.ClipNorm = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.GlobalClipNorm = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.ClipValue = double.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.ClipValue = double.PositiveInfinity);
    }
}
