using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// Nadam against keras-team/keras <c>keras/src/optimizers/nadam_test.py</c> (Keras 3), the class docstring of
/// tf_keras <c>tf_keras/optimizers/legacy/nadam.py</c>, trajectories derived from the update rules of
/// <c>keras/src/optimizers/nadam.py</c> and the legacy <c>nadam.py</c> (no Keras test publishes them), and the reference script
/// <c>Reference/optimizer_reference.py</c> (function <c>nadam</c>, reproduced below).
/// </summary>
/// <remarks>
/// Tolerances: Keras tables printed to 4 decimals are checked to 5e-5 (their rounding) plus 1e-6;
/// the derived 8- and 9-digit trajectories to half a unit of their last digit (5e-8, 5e-10) rounded up to 1e-7 and 1e-9;
/// float64 trajectories against the script to 1e-14 relative (same operations in the same order, so in practice
/// they agree to the last bit or two); float32 trajectories bit-exactly (the script reproduces TF's float32 rounding).
/// <c>power(x, y)</c> is a correctly rounded power in the scalar's dtype (what glibc <c>powf</c> and .NET
/// <c>MathF.Pow</c> return; numpy 1.24's float32 <c>np.power</c> is off by one ulp for 0.96f^0.016f).
/// <code>
/// def nadam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-7, legacy=False, dt=np.float64):
///     c = dt
///     th = np.array(theta, dtype=c); m = np.zeros_like(th); v = np.zeros_like(th); P = c(1)
///     b1c, b2c, half, dec, one = c(b1), c(b2), c(0.5), c(0.96), c(1)
///     lrc, epsc = c(lr), c(eps)
///     for i, g in enumerate(grads):
///         g = np.array(g(th) if callable(g) else g, dtype=c)
///         t = c(i + 1); tn = c(i + 2)
///         if not legacy:                                   # Keras 3
///             pw = power(dec, t)
///             P = (P * b1c) * (one - half * pw)
///             u = b1c * (one - half * pw)
///             un = b1c * (one - half * power(dec, tn))
///             Pn = P * un
///             m = m + (g - m) * (one - b1c)
///             v = v + (g * g - v) * (one - b2c)
///             mhat = (un * m) / (one - Pn) + ((one - u) * g) / (one - P)
///             vhat = v / (one - power(b2c, t))
///             th = th - (mhat * lrc) / (np.sqrt(vhat) + epsc)
///         else:                                            # tf.keras legacy, schedule 0.96^(0.004 t)
///             k = c(0.004)
///             u = b1c * (one - half * power(dec, k * t))
///             un = b1c * (one - half * power(dec, k * tn))
///             P = P * u
///             Pn = P * un
///             gp = g / (one - P)
///             m = b1c * m + (one - b1c) * g
///             mp = m / (one - Pn)
///             v = b2c * v + (one - b2c) * (g * g)
///             vp = v / (one - power(b2c, t))
///             mbar = (one - u) * gp + un * mp
///             th = th - (lrc * mbar) / (np.sqrt(vp) + epsc)
/// </code>
/// </remarks>
public class NadamTests
{
    [Test]
    public void Defaults_AreKeras()
    {
        var n = new Nadam();
        Assert.Multiple(() =>
        {
            Assert.That(n.LearningRate, Is.EqualTo(0.001));
            Assert.That(n.Beta1, Is.EqualTo(0.9));
            Assert.That(n.Beta2, Is.EqualTo(0.999));
            Assert.That(n.Epsilon, Is.EqualTo(1e-7));
            Assert.That(n.MomentumSchedule, Is.EqualTo(NadamSchedule.Keras3));
            Assert.That(n.SlotNames, Is.EqualTo(new[] { "momentum", "velocity" }));
            Assert.That(n.MomentumProduct, Is.EqualTo(1.0));
        });
    }

    [Test]
    public void Keras3_SingleStep_MatchesKerasTest()
    {
        // keras/src/optimizers/nadam_test.py test_single_step: Nadam(learning_rate=0.5), g = [1, 6, 7, 2], θ = [1, 2, 3, 4]
        // -> [0.4686, 1.4686, 2.4686, 3.4686] (rtol = atol = 1e-4 there). Bit-exact float32 values from
        // nadam([1,2,3,4], [[1,6,7,2]], 0.5, dt=np.float32).
        var p = Param("w", 1f, 2f, 3f, 4f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 6f, 7f, 2f]);
        new Nadam(learningRate: 0.5).Step([p], g);
        Assert.That(Values32(p), Is.EqualTo(new[] { 0.4686f, 1.4686f, 2.4686f, 3.4686f }).Within(1e-4f));
        Assert.That(Values32(p), Is.EqualTo(new[] { 0.46860617f, 1.468606f, 2.468606f, 3.468606f }));
    }

    // keras-team/keras keras/src/optimizers/nadam_test.py, test_correctness_with_golden (read at commit
    // 51d7e77046f5b562fbde669068a29b4b33e1f745): Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5),
    // x = ones(10); first gradient full(0.01), then arange(0.1, 1.1, 0.1); row i is x after step i + 1.
    private static readonly double[,] KerasGolden =
    {
        { 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281 },
        { -0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717 },
        { -0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084 },
        { -1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299 },
        { -1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454 },
    };

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void Keras3_GoldenSequence_MatchesKerasTableToFourDecimals(DType dtype)
    {
        var opt = new Nadam(learningRate: 0.5, beta1: 0.5, beta2: 0.67, epsilon: 1e-5);
        var first = Enumerable.Repeat(0.01, 10).ToArray();
        var rest = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
        double[][] grads = [first, rest, rest, rest, rest];
        double[][] trajectory = dtype == DType.Float32
            ? [.. Run32(opt, Enumerable.Repeat(1.0, 10).ToArray(), grads).Select(r => Array.ConvertAll(r, x => (double)x))]
            : Run64(opt, Enumerable.Repeat(1.0, 10).ToArray(), grads);
        for (int row = 0; row < 5; row++) AssertTable(KerasGolden, row, trajectory[row], 5e-5 + 1e-6);
        Assert.That(trajectory.Select(r => Math.Round(r[0], 4)), Is.EqualTo(new[] { 0.4281, -0.1738, -0.7115, -1.2335, -1.7492 }));
    }

    [TestCase(NadamSchedule.Keras3, 1.0627878)]
    [TestCase(NadamSchedule.Legacy, 1.0564518)]
    public void FirstStep_MovesByMultiplierTimesLearningRateTimesSign(NadamSchedule schedule, double k)
    {
        // From the update rule of keras/src/optimizers/nadam.py: the first update is θ -= lr·k·g/(|g| + ε). Step 1 has m = (1-β1)g, v̂ = g², so
        // k = 1 + u2·(1-β1)/(1 - u1·u2); Keras 3: u1 = 0.9·(1 - 0.5·0.96) = 0.468, u2 = 0.9·(1 - 0.5·0.96²) = 0.48528,
        // k = 1 + 0.048528/0.77288896 = 1.0627878...; legacy uses 0.96^0.004 and 0.96^0.008 instead.
        foreach (double g0 in new[] { 1.0, -3.0, 0.25, 1e4 })
        {
            var opt = new Nadam(schedule: schedule);
            var p = Param("w", 0.0);
            var g = new Gradients();
            SetGradient(g, p, [g0]);
            opt.Step([p], g);
            double delta = -p.AsSpan<double>()[0];
            double measured = delta / opt.LearningRate * (Math.Abs(g0) + opt.Epsilon) / g0;
            Assert.That(measured, Is.EqualTo(k).Within(1e-7), $"g = {g0}");
        }
    }

    [Test]
    public void Keras3_FiveStepQuadraticTrajectory_MatchesDerivedValues()
    {
        // θ²/2 from θ = 1 (gradient θ), defaults, float64: 9 decimals from an independent float64 implementation of
        // keras/src/optimizers/nadam.py (the project's Keras semantics notes), 17 digits from the script above.
        var theta = RunQuadratic64(new Nadam(), 1.0, 5);
        Assert.That(theta, Is.EqualTo(new[] { 0.998937212, 0.998163979, 0.997453142, 0.996752039, 0.996042474 }).Within(1e-9));
        Assert.That(theta, Is.EqualTo(new[] { 0.99893721230297, 0.9981639786903609, 0.9974531423031742, 0.996752039216403, 0.9960424744587293 }).Within(1e-14));
    }

    [Test]
    public void Legacy_FiveStepQuadraticTrajectory_MatchesDerivedValues()
    {
        var theta = RunQuadratic64(new Nadam(schedule: NadamSchedule.Legacy), 1.0, 5);
        Assert.That(theta, Is.EqualTo(new[] { 0.998943548, 0.998160231, 0.997428551, 0.996698208, 0.995953106 }).Within(1e-9));
        Assert.That(theta, Is.EqualTo(new[] { 0.9989435483272898, 0.9981602310035979, 0.997428551363844, 0.9966982082365962, 0.9959531061763378 }).Within(1e-14));
    }

    [Test]
    public void Legacy_ClassDoctest()
    {
        // tf_keras/optimizers/legacy/nadam.py docstring: Nadam(learning_rate=0.2), var = 10, loss var²/2, one step,
        // printed "9.8". The legacy formula gives 9.78871, the Keras 3 formula 9.78744 (the script above).
        float legacy = RunQuadratic32(new Nadam(learningRate: 0.2, schedule: NadamSchedule.Legacy), 10f, 1)[0];
        float keras3 = RunQuadratic32(new Nadam(learningRate: 0.2), 10f, 1)[0];
        Assert.Multiple(() =>
        {
            Assert.That(legacy.ToString("F1", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo("9.8"));
            Assert.That(legacy, Is.EqualTo(9.78871f));    // script, dt=np.float32
            Assert.That(keras3, Is.EqualTo(9.787442f));
        });
    }

    [Test]
    public void Keras3_Float64_MatchesReferenceScript()
    {
        // optimizer_reference.py nadam_keras3: nadam(theta0, grads, 0.01, dt=np.float64)
        double[,] expected =
        {
            { 0.4893721325947797, -1.2393721272808487, 1.9893721255095371, 0.0, 3.4893721226754373 },
            { 0.48415632138322373, -1.2481887818867097, 1.9981887810446155, -0.010216713674528127, 3.4971144318417293 },
            { 0.49379527805511, -1.250933727167141, 1.9955384895799853, -0.0062032314252328325, 3.4952361791037747 },
            { 0.48824040241007544, -1.2503429390007297, 1.9940688802688895, -0.015511139197064951, 3.4941610026478593 },
        };
        AssertClose(expected, Run64(new Nadam(learningRate: 0.01), Theta0, Grads), 1e-14);
    }

    [Test]
    public void Keras3_Float32_IsBitExactWithFloat32Reference()
    {
        // optimizer_reference.py nadam_keras3: nadam(theta0, grads, 0.01, dt=np.float32)
        float[,] expected =
        {
            { 0.48937213f, -1.2393721f, 1.9893721f, 0f, 3.489372f },
            { 0.48415634f, -1.2481887f, 1.9981887f, -0.010216678f, 3.4971142f },
            { 0.49379534f, -1.2509336f, 1.9955385f, -0.006203183f, 3.495236f },
            { 0.48824048f, -1.2503428f, 1.9940689f, -0.015511062f, 3.4941607f },
        };
        AssertBitExact(expected, Run32(new Nadam(learningRate: 0.01), Theta0, Grads));
    }

    [Test]
    public void Legacy_Float64_MatchesReferenceScript()
    {
        // optimizer_reference.py nadam_legacy: nadam(theta0, grads, 0.01, legacy=True, dt=np.float64)
        double[,] expected =
        {
            { 0.48943549278095333, -1.2394354874987024, 1.9894354857379508, 0.0, 3.4894354829207472 },
            { 0.4841962664053975, -1.2485010595591455, 1.9985010587538454, -0.010449797258320723, 3.4974185264277486 },
            { 0.4944528371659745, -1.2513167015802724, 1.9956198386214574, -0.006055223313132556, 3.4953903814809637 },
            { 0.48827493491136065, -1.2505072857313955, 1.99398149726318, -0.01615575955840586, 3.494208890513608 },
        };
        AssertClose(expected, Run64(new Nadam(learningRate: 0.01, schedule: NadamSchedule.Legacy), Theta0, Grads), 1e-14);
    }

    [Test]
    public void Legacy_Float32_IsBitExactWithFloat32Reference()
    {
        // optimizer_reference.py nadam_legacy: nadam(theta0, grads, 0.01, legacy=True, dt=np.float32)
        float[,] expected =
        {
            { 0.4894355f, -1.2394354f, 1.9894354f, 0f, 3.4894354f },
            { 0.48419628f, -1.248501f, 1.998501f, -0.010449762f, 3.4974184f },
            { 0.4944529f, -1.2513165f, 1.9956197f, -0.0060551744f, 3.4953902f },
            { 0.48827502f, -1.2505071f, 1.9939814f, -0.01615568f, 3.4942086f },
        };
        AssertBitExact(expected, Run32(new Nadam(learningRate: 0.01, schedule: NadamSchedule.Legacy), Theta0, Grads));
    }

    [TestCase(NadamSchedule.Keras3)]
    [TestCase(NadamSchedule.Legacy)]
    public void Float32AndFloat64Paths_Agree(NadamSchedule schedule)
    {
        // 50 steps on pseudo-random gradients: the float32 path tracks the float64 one to float32 round-off.
        var rng = new System.Random(7);
        double[] theta0 = [.. Enumerable.Range(0, 37).Select(_ => rng.NextDouble() * 4 - 2)];
        double[][] grads = [.. Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, 37).Select(_ => rng.NextDouble() * 2 - 1).ToArray())];
        var f = Run32(new Nadam(learningRate: 0.01, schedule: schedule), theta0, grads);
        var d = Run64(new Nadam(learningRate: 0.01, schedule: schedule), [.. theta0.Select(x => (double)(float)x)], [.. grads.Select(r => r.Select(x => (double)(float)x).ToArray())]);
        for (int s = 0; s < grads.Length; s++)
            Assert.That(f[s].Select(x => (double)x), Is.EqualTo(d[s]).Within(2e-6), $"step {s + 1}");
    }

    [Test]
    public void MomentumProduct_IsTheProductOfTheSchedule()
    {
        // Keras 3: P_t = Π_{s ≤ t} β1·(1 - 0.5·0.96^s); legacy: exponent 0.004·s.
        var k3 = new Nadam();
        var legacy = new Nadam(schedule: NadamSchedule.Legacy);
        RunQuadratic64(k3, 1.0, 10);
        RunQuadratic64(legacy, 1.0, 10);
        double p3 = 1, pl = 1;
        for (int s = 1; s <= 10; s++)
        {
            p3 *= 0.9 * (1 - 0.5 * Math.Pow(0.96, s));
            pl *= 0.9 * (1 - 0.5 * Math.Pow(0.96, 0.004 * s));
        }
        Assert.That(k3.MomentumProduct, Is.EqualTo(p3).Within(1e-15));
        Assert.That(legacy.MomentumProduct, Is.EqualTo(pl).Within(1e-15));
    }

    [Test]
    public void Constructor_RejectsOutOfRangeHyperparameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(learningRate: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(epsilon: -1e-7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nadam(schedule: (NadamSchedule)7));
    }
}
