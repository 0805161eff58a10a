using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// SGD against keras-team/keras <c>keras/src/optimizers/sgd_test.py</c>, hand computations, and the reference script
/// <c>Reference/optimizer_reference.py</c> (function <c>sgd</c>, reproduced below).
/// </summary>
/// <remarks>
/// Tolerances: float64 to 1e-14 relative (a handful of multiplies and adds); float32 bit-exact against the script.
/// <code>
/// def sgd(theta, grads, lr, momentum=0.0, nesterov=False, dt=np.float64):
///     c = dt
///     th = np.array(theta, dtype=c); vel = np.zeros_like(th); lrc = c(lr); mu = c(momentum)
///     for g in grads:
///         g = np.array(g, dtype=c)
///         if momentum != 0:
///             vel = vel * mu - g * lrc
///             th = th + (vel * mu - g * lrc) if nesterov else th + vel
///         else:
///             th = th - g * lrc
/// </code>
/// </remarks>
public class SgdTests
{
    [Test]
    public void Defaults_AreKeras()
    {
        var s = new Sgd();
        Assert.Multiple(() =>
        {
            Assert.That(s.LearningRate, Is.EqualTo(0.01));
            Assert.That(s.Momentum, Is.EqualTo(0.0));
            Assert.That(s.Nesterov, Is.False);
            Assert.That(s.SlotNames, Is.Empty);
            Assert.That(new Sgd(momentum: 0.9).SlotNames, Is.EqualTo(new[] { "momentum" }));
        });
    }

    [Test]
    public void SingleStep_MatchesKerasTest()
    {
        // sgd_test.py test_single_step: SGD(learning_rate=0.5), g = [1, 6, 7, 2], θ = [1, 2, 3, 4] -> θ − 0.5·g = [0.5, −1, −0.5, 3].
        var p = Param("w", 1f, 2f, 3f, 4f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 6f, 7f, 2f]);
        new Sgd(learningRate: 0.5).Step([p], g);
        Assert.That(Values32(p), Is.EqualTo(new[] { 0.5f, -1f, -0.5f, 3f }));
    }

    [Test]
    public void NesterovGolden_MatchesKerasTable()
    {
        // sgd_test.py test_correctness_with_golden: SGD(nesterov=True) (momentum 0, so plain descent, lr 0.01),
        // x = ones(10), first gradient full(0.01), then arange(0.1, 1.1, 0.1). Table printed to 4 decimals: 5e-5 + 1e-6.
        double[,] golden =
        {
            { 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999 },
            { 0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899 },
            { 0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799 },
            { 0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699 },
            { 0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599 },
        };
        var first = Enumerable.Repeat(0.01, 10).ToArray();
        var rest = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
        var trajectory = Run32(new Sgd(nesterov: true), Enumerable.Repeat(1.0, 10).ToArray(), [first, rest, rest, rest, rest]);
        for (int row = 0; row < 5; row++) AssertTable(golden, row, Array.ConvertAll(trajectory[row], x => (double)x), 5e-5 + 1e-6);
    }

    [Test]
    public void Plain_MatchesHandComputation()
    {
        // lr = 0.1: θ ← θ − 0.1·g. Element 0: 0.5 − 0.01 = 0.49; − 0.005 = 0.485; + 0.03 = 0.515; − 0.02 = 0.495.
        double[,] expected64 =
        {
            { 0.49, -1.23, 1.97, 0.0, 3.35 },
            { 0.485, -1.27, 2.03, -0.020000000000000004, 3.5500000000000003 },
            { 0.515, -1.28, 2.01, -0.010000000000000002, 3.5000000000000004 },
            { 0.495, -1.2750000000000001, 1.9999999999999998, -0.04, 3.4750000000000005 },
        };
        float[,] expected32 =   // sgd(theta0, grads, 0.1, dt=np.float32)
        {
            { 0.49f, -1.23f, 1.97f, 0f, 3.35f },
            { 0.485f, -1.27f, 2.03f, -0.020000001f, 3.55f },
            { 0.515f, -1.28f, 2.01f, -0.010000001f, 3.5f },
            { 0.49499997f, -1.275f, 2f, -0.040000003f, 3.475f },
        };
        AssertClose(expected64, Run64(new Sgd(learningRate: 0.1), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new Sgd(learningRate: 0.1), Theta0, Grads));
    }

    [Test]
    public void Momentum_MatchesHandComputation()
    {
        // lr = 0.1, μ = 0.9: v ← 0.9·v − 0.1·g; θ ← θ + v. Element 0 (g = 0.1, 0.05, −0.3, 0.2):
        // v = −0.01 → θ = 0.49; v = −0.009 − 0.005 = −0.014 → 0.476; v = −0.0126 + 0.03 = 0.0174 → 0.4934;
        // v = 0.01566 − 0.02 = −0.00434 → 0.48906.
        double[,] expected64 =
        {
            { 0.49, -1.23, 1.97, 0.0, 3.35 },
            { 0.476, -1.252, 2.003, -0.020000000000000004, 3.415 },
            { 0.49339999999999995, -1.2818, 2.0127, -0.028000000000000008, 3.4235 },
            { 0.48905999999999994, -1.30362, 2.0114300000000003, -0.06520000000000001, 3.4061500000000002 },
        };
        float[,] expected32 =   // sgd(theta0, grads, 0.1, momentum=0.9, dt=np.float32)
        {
            { 0.49f, -1.23f, 1.97f, 0f, 3.35f },
            { 0.476f, -1.252f, 2.003f, -0.020000001f, 3.415f },
            { 0.4934f, -1.2818f, 2.0127f, -0.028f, 3.4235f },
            { 0.48906f, -1.30362f, 2.01143f, -0.0652f, 3.40615f },
        };
        AssertClose(expected64, Run64(new Sgd(learningRate: 0.1, momentum: 0.9), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new Sgd(learningRate: 0.1, momentum: 0.9), Theta0, Grads));
    }

    [Test]
    public void Nesterov_MatchesHandComputation()
    {
        // lr = 0.1, μ = 0.9, Nesterov: v ← 0.9·v − 0.1·g; θ ← θ + 0.9·v − 0.1·g. Element 0:
        // v = −0.01, θ += −0.009 − 0.01 → 0.481; v = −0.014, θ += −0.0126 − 0.005 → 0.4634;
        // v = 0.0174, θ += 0.01566 + 0.03 → 0.50906; v = −0.00434, θ += −0.003906 − 0.02 → 0.485154.
        double[,] expected64 =
        {
            { 0.481, -1.212, 1.943, 0.0, 3.215 },
            { 0.4634, -1.2718, 2.0327, -0.038000000000000006, 3.4735 },
            { 0.50906, -1.3086200000000001, 2.02143, -0.03520000000000001, 3.43115 },
            { 0.485154, -1.323258, 2.010287, -0.09868000000000002, 3.3905350000000003 },
        };
        float[,] expected32 =   // sgd(theta0, grads, 0.1, momentum=0.9, nesterov=True, dt=np.float32)
        {
            { 0.481f, -1.212f, 1.943f, 0f, 3.215f },
            { 0.4634f, -1.2718f, 2.0327f, -0.038000003f, 3.4735f },
            { 0.50906f, -1.3086201f, 2.02143f, -0.035200004f, 3.43115f },
            { 0.48515403f, -1.323258f, 2.010287f, -0.098680004f, 3.3905349f },
        };
        AssertClose(expected64, Run64(new Sgd(learningRate: 0.1, momentum: 0.9, nesterov: true), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new Sgd(learningRate: 0.1, momentum: 0.9, nesterov: true), Theta0, Grads));
    }

    [Test]
    public void Constructor_RejectsOutOfRangeMomentum()
    {
        // Keras: "`momentum` must be a float between [0, 1]."
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(momentum: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(momentum: 1.5));
        Assert.DoesNotThrow(() => new Sgd(momentum: 1.0));
    }
}
