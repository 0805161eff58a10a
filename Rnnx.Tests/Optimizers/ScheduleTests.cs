using Rnnx.Optimizers;
using static Rnnx.Tests.Optimizers.OptimizerTestHelpers;

namespace Rnnx.Tests.Optimizers;

/// <summary>
/// Learning-rate schedules (keras-team/keras <c>keras/src/optimizers/schedules/learning_rate_schedule.py</c>) and
/// how the optimizer reads them: once per step, at step = iterations before the update (Keras's
/// <c>_get_current_learning_rate</c> calls the schedule with <c>self._iterations</c>).
/// </summary>
/// <remarks>Tolerance 1e-15 relative for double formulas evaluated the same way.</remarks>
public class ScheduleTests
{
    [Test]
    public void ExponentialDecay_Continuous()
    {
        // 0.1·0.5^(step/10)
        var s = new ExponentialDecay(0.1, 10, 0.5);
        Assert.That(s.LearningRate(0), Is.EqualTo(0.1));
        Assert.That(s.LearningRate(5), Is.EqualTo(0.1 * Math.Sqrt(0.5)).Within(1e-16));   // 0.0707106781
        Assert.That(s.LearningRate(10), Is.EqualTo(0.05).Within(1e-16));
        Assert.That(s.LearningRate(25), Is.EqualTo(0.1 * Math.Pow(0.5, 2.5)).Within(1e-16));
    }

    [Test]
    public void ExponentialDecay_Staircase()
    {
        // 0.1·0.5^floor(step/10)
        var s = new ExponentialDecay(0.1, 10, 0.5, staircase: true);
        Assert.That(new[] { 0, 5, 9, 10, 19, 20, 35 }.Select(t => s.LearningRate(t)),
            Is.EqualTo(new[] { 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125 }));
    }

    [Test]
    public void PiecewiseConstant_KerasDocExample()
    {
        // Keras docstring: boundaries [100000, 110000], values [1.0, 0.5, 0.1]: 1.0 for step ≤ 100000,
        // 0.5 for 100000 < step ≤ 110000, 0.1 afterwards.
        var s = new PiecewiseConstant([100000, 110000], [1.0, 0.5, 0.1]);
        Assert.That(new long[] { 0, 100000, 100001, 110000, 110001, long.MaxValue }.Select(s.LearningRate),
            Is.EqualTo(new[] { 1.0, 1.0, 0.5, 0.5, 0.1, 0.1 }));
    }

    [Test]
    public void Schedules_ValidateArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.1, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(-0.1, 10, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.1, 10, double.NaN));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstant([1, 2], [0.1, 0.2]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstant([5, 5], [0.1, 0.2, 0.3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PiecewiseConstant([5], [0.1, -0.2]));
    }

    [Test]
    public void Optimizer_EvaluatesScheduleAtIterationsBeforeTheUpdate()
    {
        // SGD from θ = 0 with g = 1 each step, lr = PiecewiseConstant([1, 2], [0.1, 0.01, 0.001]):
        // steps see iterations 0, 1, 2, 3 -> lr 0.1, 0.1, 0.01, 0.001 -> θ = −0.1, −0.2, −0.21, −0.211.
        var opt = new Sgd { LearningRateSchedule = new PiecewiseConstant([1, 2], [0.1, 0.01, 0.001]) };
        var p = Param("w", 0.0);
        var g = new Gradients();
        var seen = new List<double>();
        var theta = new List<double>();
        for (int s = 0; s < 4; s++)
        {
            seen.Add(opt.LearningRate);
            SetGradient(g, p, [1.0]);
            opt.Step([p], g);
            theta.Add(p.AsSpan<double>()[0]);
        }
        Assert.That(seen, Is.EqualTo(new[] { 0.1, 0.1, 0.01, 0.001 }));
        Assert.That(theta, Is.EqualTo(new[] { -0.1, -0.2, -0.21, -0.211 }).Within(1e-15));
    }

    [Test]
    public void Optimizer_ExponentialDecayWithAdam_UsesScheduledRateEachStep()
    {
        // Adam's first step moves by ≈ lr (θ -= lr·g·0.1·√0.001/0.1/(|g|·√0.001 + ε)); with
        // ExponentialDecay(0.5, 1, 0.5) the first step (iterations 0) uses 0.5, so θ ≈ 1 − 0.5.
        var opt = new Adam { LearningRateSchedule = new ExponentialDecay(0.5, 1, 0.5) };
        var p = Param("w", 1.0);
        var g = new Gradients();
        SetGradient(g, p, [2.0]);
        opt.Step([p], g);
        Assert.That(p.AsSpan<double>()[0], Is.EqualTo(0.5).Within(1e-6));
        Assert.That(opt.LearningRate, Is.EqualTo(0.25));
    }

    [Test]
    public void LearningRate_CannotBeSetWhileAScheduleIsUsed()
    {
        var opt = new Nadam { LearningRateSchedule = new ExponentialDecay(0.01, 100, 0.9) };
        Assert.That(opt.LearningRate, Is.EqualTo(0.01));
        Assert.Throws<InvalidOperationException>(() => opt.LearningRate = 0.5);
        opt.LearningRateSchedule = null;
        Assert.That(opt.LearningRate, Is.EqualTo(0.001));    // back to the fixed rate
        opt.LearningRate = 0.5;
        Assert.That(opt.LearningRate, Is.EqualTo(0.5));
    }

    [Test]
    public void LearningRate_CanChangeBetweenSteps()
    {
        // SGD, g = 1: lr 0.1 then 0.01 -> θ = −0.1, −0.11.
        var opt = new Sgd(learningRate: 0.1);
        var p = Param("w", 0.0);
        var g = new Gradients();
        SetGradient(g, p, [1.0]);
        opt.Step([p], g);
        opt.LearningRate = 0.01;
        opt.Step([p], g);
        Assert.That(p.AsSpan<double>()[0], Is.EqualTo(-0.11).Within(1e-16));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = -1);
    }

    private sealed class BadSchedule : ILearningRateSchedule
    {
        public double LearningRate(long step) => step < 1 ? 0.1 : double.NaN;
    }

    [Test]
    public void InvalidScheduledRate_ThrowsAndChangesNothing()
    {
        var opt = new Adam { LearningRateSchedule = new BadSchedule() };
        var p = Param("w", 1.0);
        var g = new Gradients();
        SetGradient(g, p, [1.0]);
        opt.Step([p], g);
        double before = p.AsSpan<double>()[0];
        Assert.Throws<InvalidOperationException>(() => opt.Step([p], g));
        Assert.That(p.AsSpan<double>()[0], Is.EqualTo(before));
        Assert.That(opt.Iterations, Is.EqualTo(1));
    }
}
