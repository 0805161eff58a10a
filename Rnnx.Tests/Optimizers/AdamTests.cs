using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// Adam against keras-team/keras <c>keras/src/optimizers/adam_test.py</c> and against the reference script
/// <c>Reference/optimizer_reference.py</c> (function <c>adam</c>, reproduced below).
/// </summary>
/// <remarks>
/// Tolerances: Keras's own test tolerances where its tables are coarse (documented per test); float64 against the
/// script to 1e-14 relative (same operations in the same order); float32 bit-exact (the script rounds exactly as
/// TF's float32 kernels: every constant cast to float32, 1 − β computed in Python double then cast).
/// <code>
/// def adam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, dt=np.float64):
///     c = dt
///     th = np.array(theta, dtype=c); m = np.zeros_like(th); v = np.zeros_like(th); vh = np.zeros_like(th)
///     one = c(1); omb1 = c(1 - b1); omb2 = c(1 - b2)   # 1 - beta in Python double, then cast (Keras adam.py)
///     for i, g in enumerate(grads):
///         g = np.array(g, dtype=c); t = c(i + 1)
///         alpha = c(lr) * np.sqrt(one - power(c(b2), t)) / (one - power(c(b1), t))
///         m = m + (g - m) * omb1
///         v = v + (g * g - v) * omb2
///         vv = v
///         if amsgrad:
///             vh = np.maximum(vh, v); vv = vh
///         th = th - (m * alpha) / (np.sqrt(vv) + c(eps))
/// </code>
/// By hand, step 1 of element 0 of the shared scenario (θ = 0.5, g = 0.1, lr = 0.01, float64):
/// m = 0.1·0.1 = 0.01; v = 0.001·0.01 = 1e-5; α = 0.01·√0.001/0.1 = 0.00316227766;
/// θ = 0.5 − 0.01·0.00316227766/(√1e-5 + 1e-7) = 0.5 − 3.16227766e-5/0.00316237766 = 0.49000031622.
/// </remarks>
public class AdamTests
{
    [Test]
    public void Defaults_AreKeras()
    {
        var a = new Adam();
        Assert.Multiple(() =>
        {
            Assert.That(a.LearningRate, Is.EqualTo(0.001));
            Assert.That(a.Beta1, Is.EqualTo(0.9));
            Assert.That(a.Beta2, Is.EqualTo(0.999));
            Assert.That(a.Epsilon, Is.EqualTo(1e-7));
            Assert.That(a.Amsgrad, Is.False);
            Assert.That(a.SlotNames, Is.EqualTo(new[] { "momentum", "velocity" }));
            Assert.That(new Adam(amsgrad: true).SlotNames, Is.EqualTo(new[] { "momentum", "velocity", "velocity_hat" }));
        });
    }

    [Test]
    public void SingleStep_MatchesKerasTest()
    {
        // adam_test.py test_single_step: Adam(learning_rate=0.5), g = [1, 6, 7, 2], θ = [1, 2, 3, 4] -> [0.5, 1.5, 2.5, 3.5]
        // (rtol = atol = 1e-4). Step 1 moves by lr·(g·0.1)·√0.001/0.1 / (|g|·√0.001 + ε) ≈ lr·sign(g).
        var p = Param("w", 1f, 2f, 3f, 4f);
        var g = new Gradients();
        SetGradient(g, p, [1f, 6f, 7f, 2f]);
        new Adam(learningRate: 0.5).Step([p], g);
        Assert.That(Values32(p), Is.EqualTo(new[] { 0.5f, 1.5f, 2.5f, 3.5f }).Within(1e-4f));
        // float64 script: adam([1,2,3,4], [[1,6,7,2]], 0.5)
        var q = Param("w", 1.0, 2.0, 3.0, 4.0);
        SetGradient(g, q, [1.0, 6.0, 7.0, 2.0]);
        new Adam(learningRate: 0.5).Step([q], g);
        Assert.That(Values64(q), Is.EqualTo(new[] { 0.5000015811338301, 1.5000002635229994, 2.5000002258768736, 3.500000790568165 }).Within(1e-14));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void AmsgradGolden_MatchesKerasTable(DType dtype)
    {
        // adam_test.py test_correctness_with_golden: Adam(amsgrad=True), x = ones(10), first gradient full(0.01),
        // then arange(0.1, 1.1, 0.1). Keras's table repeats one value per row for all 10 coordinates, which the exact
        // trajectory only meets to 1.33e-4 (the coordinates spread by that much), so the test's own tolerance is
        // used: |x − golden| ≤ 5e-4 + 5e-4·|golden| (assertAllClose, rtol = atol = 5e-4).
        double[] golden = [0.999, 0.9982, 0.9974, 0.9965, 0.9955];
        var first = Enumerable.Repeat(0.01, 10).ToArray();
        var rest = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();
        double[][] grads = [first, rest, rest, rest, rest];
        var opt = new Adam(amsgrad: true);
        double[][] trajectory = dtype == DType.Float32
            ? [.. Run32(opt, Enumerable.Repeat(1.0, 10).ToArray(), grads).Select(r => Array.ConvertAll(r, x => (double)x))]
            : Run64(opt, Enumerable.Repeat(1.0, 10).ToArray(), grads);
        for (int row = 0; row < 5; row++)
            Assert.That(trajectory[row], Is.All.EqualTo(golden[row]).Within(5e-4 + 5e-4 * golden[row]), $"row {row}");
    }

    [Test]
    public void Float64_MatchesReferenceScript()
    {
        // optimizer_reference.py adam: adam(theta0, grads, 0.01, dt=np.float64)
        double[,] expected =
        {
            { 0.49000031621776635, -1.240000158111383, 1.9900001054081442, 0.0, 3.4900000210818067 },
            { 0.4806787835879341, -1.243661167491907, 1.9936611234185722, -0.007441250579167467, 3.4919351227249993 },
            { 0.4841509843578433, -1.2478176507919383, 1.9945468206383876, -0.009727621989670247, 3.492148240627775 },
            { 0.4834825769667421, -1.2505712733490308, 1.994442339870217, -0.015507077164915992, 3.4917542073473697 },
        };
        AssertClose(expected, Run64(new Adam(learningRate: 0.01), Theta0, Grads), 1e-14);
    }

    [Test]
    public void Float32_IsBitExactWithFloat32Reference()
    {
        // optimizer_reference.py adam: adam(theta0, grads, 0.01, dt=np.float32)
        float[,] expected =
        {
            { 0.4900004f, -1.2400002f, 1.9900001f, 0f, 3.49f },
            { 0.48067895f, -1.2436612f, 1.9936612f, -0.007441176f, 3.491935f },
            { 0.48415112f, -1.2478176f, 1.9945469f, -0.0097275395f, 3.4921482f },
            { 0.48348272f, -1.2505713f, 1.9944425f, -0.015506939f, 3.491754f },
        };
        AssertBitExact(expected, Run32(new Adam(learningRate: 0.01), Theta0, Grads));
    }

    // AMSGrad scenario where v decreases for element 0 (large gradient, then small ones, β2 = 0.5), so v̂ = max(v̂, v)
    // differs from v: adam([1.0, -1.0], [[2.0, -0.5], [0.1, -0.5], [0.1, 0.5], [-0.05, 3.0]], 0.01, b2=0.5, amsgrad=...).
    private static readonly double[] AmsTheta0 = [1.0, -1.0];
    private static readonly double[][] AmsGrads = [[2.0, -0.5], [0.1, -0.5], [0.1, 0.5], [-0.05, 3.0]];

    [Test]
    public void Amsgrad_UsesRunningMaximumOfVelocity()
    {
        double[,] amsgrad64 =
        {
            { 0.9900000007071067, -0.9900000028284264 },
            { 0.9838762767831615, -0.9800000051378269 },
            { 0.9794585558104614, -0.9773800794987286 },
            { 0.9763150044250796, -0.9808952648739259 },
        };
        double[,] plain64 =
        {
            { 0.9900000007071067, -0.9900000028284264 },
            { 0.9813613173130098, -0.9800000051378269 },
            { 0.9725914055006656, -0.9773800794987286 },
            { 0.9637877018254051, -0.9808952648739259 },
        };
        float[,] amsgrad32 =
        {
            { 0.99f, -0.99f },
            { 0.9838763f, -0.98f },
            { 0.9794586f, -0.9773801f },
            { 0.976315f, -0.9808953f },
        };
        AssertClose(amsgrad64, Run64(new Adam(learningRate: 0.01, beta2: 0.5, amsgrad: true), AmsTheta0, AmsGrads), 1e-14);
        AssertClose(plain64, Run64(new Adam(learningRate: 0.01, beta2: 0.5), AmsTheta0, AmsGrads), 1e-14);
        AssertBitExact(amsgrad32, Run32(new Adam(learningRate: 0.01, beta2: 0.5, amsgrad: true), AmsTheta0, AmsGrads));
    }

    [Test]
    public void Float32AndFloat64Paths_Agree()
    {
        var rng = new System.Random(11);
        double[] theta0 = [.. Enumerable.Range(0, 41).Select(_ => (double)(float)(rng.NextDouble() * 4 - 2))];
        double[][] grads = [.. Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, 41).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1)).ToArray())];
        var f = Run32(new Adam(learningRate: 0.01, amsgrad: true), theta0, grads);
        var d = Run64(new Adam(learningRate: 0.01, amsgrad: true), theta0, grads);
        // Each step moves θ by about lr = 0.01; float32 round-off over 50 steps stays below 2e-6.
        for (int s = 0; s < grads.Length; s++)
            Assert.That(f[s].Select(x => (double)x), Is.EqualTo(d[s]).Within(2e-6), $"step {s + 1}");
    }

    [Test]
    public void Constructor_RejectsOutOfRangeHyperparameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(learningRate: double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta2: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(epsilon: double.NaN));
    }
}
