using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// RMSprop against keras-team/keras <c>keras/src/optimizers/rmsprop.py</c> (docstring example) and
/// <c>rmsprop_test.py</c>, hand computations, and the reference script <c>Reference/optimizer_reference.py</c>
/// (function <c>rmsprop</c>, reproduced below).
/// </summary>
/// <remarks>
/// Tolerances: Keras tables to their 4 printed decimals (5e-5) plus 1e-6; float64 to 1e-14 relative; float32
/// bit-exact against the script (ρ, ε, momentum, lr cast to float32; 1 − ρ computed in Python double then cast).
/// <code>
/// def rmsprop(theta, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False, dt=np.float64):
///     c = dt
///     th = np.array(theta, dtype=c); v = np.zeros_like(th); a = np.zeros_like(th); b = np.zeros_like(th)
///     rhoc = c(rho); omr = c(1 - rho); epsc = c(eps); lrc = c(lr); muc = c(momentum)
///     for g in grads:
///         g = np.array(g, dtype=c)
///         v = rhoc * v + omr * (g * g)
///         if centered:
///             a = rhoc * a + omr * g
///             d = v - a * a + epsc
///         else:
///             d = v + epsc
///         inc = (lrc * g) / np.sqrt(d)
///         if momentum > 0:
///             b = muc * b + inc
///             th = th - b
///         else:
///             th = th - inc
/// </code>
/// By hand, step 1 of element 0 of the shared scenario (θ = 0.5, g = 0.1, lr = 0.01, float64):
/// plain: v = 0.1·0.01 = 0.001, Δ = 0.001/√(0.001 + 1e-7) = 0.0316211956, θ = 0.4683788044;
/// centered: a = 0.01, d = 0.001 − 0.0001 + 1e-7 = 0.0009001, Δ = 0.001/√0.0009001 = 0.0333314816, θ = 0.4666685184;
/// with momentum the buffer starts at 0, so step 1 equals the step without momentum.
/// </remarks>
public class RmsPropTests
{
    [Test]
    public void Defaults_AreKeras()
    {
        var r = new RmsProp();
        Assert.Multiple(() =>
        {
            Assert.That(r.LearningRate, Is.EqualTo(0.001));
            Assert.That(r.Rho, Is.EqualTo(0.9));
            Assert.That(r.Momentum, Is.EqualTo(0.0));
            Assert.That(r.Epsilon, Is.EqualTo(1e-7));
            Assert.That(r.Centered, Is.False);
            Assert.That(r.SlotNames, Is.EqualTo(new[] { "velocity" }));
            Assert.That(new RmsProp(momentum: 0.5, centered: true).SlotNames, Is.EqualTo(new[] { "velocity", "momentum", "average_gradient" }));
        });
    }

    [Test]
    public void DocstringExample()
    {
        // rmsprop.py docstring: RMSprop(learning_rate=0.1), var = 10, loss var²/2, one step -> 9.683772.
        // v = 0.1·100 = 10; θ = 10 − 0.1·10/√(10 + 1e-7) = 10 − 0.31622776 = 9.68377224.
        Assert.That(RunQuadratic32(new RmsProp(learningRate: 0.1), 10f, 1)[0], Is.EqualTo(9.683772f));
    }

    [Test]
    public void SingleStep_MatchesKerasTest()
    {
        // rmsprop_test.py test_single_step: RMSprop(learning_rate=0.5), g = [1, 6, 7, 2], θ = [1, 2, 3, 4]
        // -> [-0.5811, 0.4189, 1.4189, 2.4189]: each element moves by 0.5·g/√(0.1·g² + 1e-7) ≈ 0.5·√10 = 1.5811.
        var p = Param("w", 1f, 2f, 3f, 4f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 6f, 7f, 2f]);
        new RmsProp(learningRate: 0.5).Step([p], g);
        Assert.That(Values32(p), Is.EqualTo(new[] { -0.5811f, 0.4189f, 1.4189f, 2.4189f }).Within(5e-5f + 1e-6f));
    }

    [Test]
    public void CenteredGolden_MatchesKerasTable()
    {
        // rmsprop_test.py test_correctness_with_golden: RMSprop(centered=True), x = ones(10), first gradient
        // full(0.01), then arange(0.1, 1.1, 0.1); the table gives one value per row for all coordinates
        // (the exact coordinates stay within 4.9e-5 of it).
        double[] golden = [0.9967, 0.9933, 0.9908, 0.9885, 0.9864];
        var first = Enumerable.Repeat(0.01, 10).ToArray();
        var rest = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
        var trajectory = Run32(new RmsProp(centered: true), Enumerable.Repeat(1.0, 10).ToArray(), [first, rest, rest, rest, rest]);
        for (int row = 0; row < 5; row++)
            Assert.That(trajectory[row], Is.All.EqualTo((float)golden[row]).Within(5e-5f + 1e-6f), $"row {row}");
    }

    [Test]
    public void Plain_MatchesReferenceScript()
    {
        double[,] expected64 =   // rmsprop(theta0, grads, 0.01)
        {
            { 0.46837880441857077, -1.2183776186756123, 1.9683773990789444, 0.0, 3.4683772304255975 },
            { 0.45363524981325964, -1.2469489743610225, 1.9969487952565181, -0.0316223813243877, 3.4941434933433517 },
            { 0.48358273801021756, -1.254273438905243, 1.987380413897757, -0.016878345969280874, 3.4875047983836973 },
            { 0.46606285809246456, -1.2504415543677367, 1.9824003626239808, -0.04304944251337774, 3.484027121578049 },
        };
        float[,] expected32 =   // rmsprop(theta0, grads, 0.01, dt=np.float32)
        {
            { 0.4683788f, -1.2183776f, 1.9683774f, 0f, 3.468377f },
            { 0.45363525f, -1.246949f, 1.9969487f, -0.03162238f, 3.4941435f },
            { 0.48358274f, -1.2542734f, 1.9873804f, -0.016878344f, 3.4875047f },
            { 0.46606284f, -1.2504416f, 1.9824003f, -0.04304944f, 3.4840271f },
        };
        AssertClose(expected64, Run64(new RmsProp(learningRate: 0.01), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new RmsProp(learningRate: 0.01), Theta0, Grads));
    }

    [Test]
    public void Centered_MatchesReferenceScript()
    {
        double[,] expected64 =   // rmsprop(theta0, grads, 0.01, centered=True)
        {
            { 0.4666685183642118, -1.2166671296199847, 1.9666668724260783, 0.0, 3.4666666748971164 },
            { 0.45048126902435637, -1.2455979230552618, 1.9955977079010447, -0.03333287038001521, 3.49252375802506 },
            { 0.48089100282149266, -1.2531033537919023, 1.9860190067473191, -0.018485187271137987, 3.4858846402435018 },
            { 0.46335844772915935, -1.249216741964208, 1.9810388558660708, -0.04615375405818463, 3.482405950118388 },
        };
        float[,] expected32 =   // rmsprop(theta0, grads, 0.01, centered=True, dt=np.float32)
        {
            { 0.46666852f, -1.2166672f, 1.9666668f, 0f, 3.4666667f },
            { 0.45048127f, -1.245598f, 1.9955976f, -0.033332873f, 3.4925237f },
            { 0.480891f, -1.2531034f, 1.9860189f, -0.018485188f, 3.4858847f },
            { 0.46335843f, -1.2492168f, 1.9810387f, -0.046153754f, 3.482406f },
        };
        AssertClose(expected64, Run64(new RmsProp(learningRate: 0.01, centered: true), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new RmsProp(learningRate: 0.01, centered: true), Theta0, Grads));
    }

    [Test]
    public void Momentum_MatchesReferenceScript()
    {
        double[,] expected64 =   // rmsprop(theta0, grads, 0.01, momentum=0.5)
        {
            { 0.46837880441857077, -1.2183776186756123, 1.9683773990789444, 0.0, 3.4683772304255975 },
            { 0.437824652022545, -1.2311377836988286, 1.9811374947959903, -0.0316223813243877, 3.4783321085561507 },
            { 0.45249506402149003, -1.2448423307546574, 1.9779491612957523, -0.032689536631474725, 3.476670852661773 },
            { 0.44231039010320955, -1.2478627197450656, 1.971374943271857, -0.059394210829115106, 3.4723625479089364 },
        };
        float[,] expected32 =   // rmsprop(theta0, grads, 0.01, momentum=0.5, dt=np.float32)
        {
            { 0.4683788f, -1.2183776f, 1.9683774f, 0f, 3.468377f },
            { 0.43782467f, -1.2311378f, 1.9811374f, -0.03162238f, 3.478332f },
            { 0.45249507f, -1.2448423f, 1.977949f, -0.032689534f, 3.4766707f },
            { 0.4423104f, -1.2478627f, 1.9713748f, -0.05939421f, 3.4723625f },
        };
        AssertClose(expected64, Run64(new RmsProp(learningRate: 0.01, momentum: 0.5), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new RmsProp(learningRate: 0.01, momentum: 0.5), Theta0, Grads));
    }

    [Test]
    public void CenteredWithMomentum_MatchesReferenceScript()
    {
        double[,] expected64 =   // rmsprop(theta0, grads, 0.01, momentum=0.5, centered=True)
        {
            { 0.4666685183642118, -1.2166671296199847, 1.9666668724260783, 0.0, 3.4666666748971164 },
            { 0.43381552820646224, -1.2289314878652544, 1.978931144114084, -0.03333287038001521, 3.475857095473618 },
            { 0.44779876692472376, -1.2425690977245296, 1.9754845788043611, -0.03515162246114559, 3.4738131879803102 },
            { 0.43725783119152123, -1.2455012908264729, 1.9687811452682513, -0.06372956528875742, 3.4693125441085426 },
        };
        float[,] expected32 =   // rmsprop(theta0, grads, 0.01, momentum=0.5, centered=True, dt=np.float32)
        {
            { 0.46666852f, -1.2166672f, 1.9666668f, 0f, 3.4666667f },
            { 0.43381554f, -1.2289315f, 1.9789311f, -0.033332873f, 3.475857f },
            { 0.4477988f, -1.2425692f, 1.9754845f, -0.035151627f, 3.473813f },
            { 0.43725786f, -1.2455014f, 1.9687811f, -0.06372957f, 3.4693124f },
        };
        AssertClose(expected64, Run64(new RmsProp(learningRate: 0.01, momentum: 0.5, centered: true), Theta0, Grads), 1e-14);
        AssertBitExact(expected32, Run32(new RmsProp(learningRate: 0.01, momentum: 0.5, centered: true), Theta0, Grads));
    }

    [Test]
    public void Constructor_RejectsOutOfRangeHyperparameters()
    {
        // Keras: rho and momentum in [0, 1] (boundaries accepted), epsilon positive.
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(rho: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(rho: 1.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(momentum: 2.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp(epsilon: 0));
        Assert.DoesNotThrow(() => new RmsProp(rho: 0.0, momentum: 1.0, epsilon: 1e-12));
        Assert.DoesNotThrow(() => new RmsProp(rho: 1.0));
    }
}
