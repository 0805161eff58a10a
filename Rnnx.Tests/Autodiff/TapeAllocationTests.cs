using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Autodiff;

/// <summary>A steady-state training step recorded on a warm tape allocates nothing per op.</summary>
[NonParallelizable]
public class TapeAllocationTests
{
    private sealed class RnnStep
    {
        private const int Batch = 4, Features = 3, Units = 8;
        private readonly Tensor _x, _y, _h0;
        private readonly Parameter _w, _r, _b;
        private readonly Tensor[] _hs;
        private readonly Tape _tape = new();
        public double Checksum;

        public RnnStep(int steps, bool releaseIntermediateGradients = false)
        {
            _tape.ReleaseIntermediateGradients = releaseIntermediateGradients;
            var rng = new global::Rnnx.Random.NumPyRandomState(1);
            _x = Tensor.FromArray(Array.ConvertAll(rng.Rand(Batch * steps * Features), v => (float)v - 0.5f), Batch, steps, Features);
            _y = Tensor.FromArray(Array.ConvertAll(rng.Rand(Batch * steps * Units), v => (float)v), Batch, steps, Units);
            _h0 = Tensor.Zeros(new Shape(Batch, Units));
            _w = new Parameter("rnn/kernel", Tensor.FromArray(Array.ConvertAll(rng.Rand(Features * Units), v => (float)v - 0.5f), Features, Units));
            _r = new Parameter("rnn/recurrent_kernel", Tensor.FromArray(Array.ConvertAll(rng.Rand(Units * Units), v => (float)v * 0.2f - 0.1f), Units, Units));
            _b = new Parameter("rnn/bias", Tensor.Zeros(new Shape(Units)));
            _hs = new Tensor[steps];
        }

        /// <summary>Forward (h = tanh(x_t W + h R + b) over all steps, stacked), MSE, backward, a read of the gradients, reset.</summary>
        public void Run()
        {
            using (_tape.Activate())
            {
                var h = _h0;
                for (int t = 0; t < _hs.Length; t++)
                {
                    h = Tensor.Tanh(Tensor.MatMul(Tensor.Select(_x, 1, t), _w.Value) + Tensor.MatMul(h, _r.Value) + _b.Value);
                    _hs[t] = h;
                }
                var loss = Tensor.MeanSquaredError(_y, Tensor.Stack(1, _hs));
                var g = _tape.Backward(loss);
                Checksum = loss.Item() + g.GetSpan<float>(_w)[0] + g.GetSpan<float>(_r)[0] + g.GetSpan<float>(_b)[0];
            }
            _tape.Reset();
            Array.Clear(_hs);
        }
    }

    /// <summary>The most a warm step allocated over three consecutive steps (after one warm-up that fills the tape's pools).</summary>
    private static long AllocatedBySteadyStateStep(int steps, bool releaseIntermediateGradients = false)
    {
        var step = new RnnStep(steps, releaseIntermediateGradients);
        long[] bytes = SteadyStateAllocation.BytesPerRun(step.Run, warmUps: 1, measured: 3);
        Assert.That(double.IsFinite(step.Checksum));
        return bytes.Max();
    }

    [Test]
    public void TrainingStep_AfterWarmUp_AllocatesNothingPerOp()
    {
        long short20 = AllocatedBySteadyStateStep(20);
        long long80 = AllocatedBySteadyStateStep(80);
        TestContext.Out.WriteLine($"allocated by a steady-state step: 20 steps {short20} B, 80 steps {long80} B");
        // 20 steps record ~130 ops, 80 steps ~490: any per-op allocation would show up many times over.
        Assert.That(short20, Is.LessThanOrEqualTo(256), "20 time steps");
        Assert.That(long80, Is.LessThanOrEqualTo(256), "80 time steps");
        Assert.That(long80 - short20, Is.LessThanOrEqualTo(64), "allocation must not grow with the number of time steps");
    }

    /// <summary>Giving gradients back during backward (as the training step does) reuses pool memory, still allocating nothing.</summary>
    [Test]
    public void TrainingStep_ReleasingIntermediateGradients_AllocatesNothingPerOp()
    {
        long short20 = AllocatedBySteadyStateStep(20, releaseIntermediateGradients: true);
        long long80 = AllocatedBySteadyStateStep(80, releaseIntermediateGradients: true);
        TestContext.Out.WriteLine($"allocated by a steady-state step releasing gradients: 20 steps {short20} B, 80 steps {long80} B");
        Assert.That(short20, Is.LessThanOrEqualTo(256), "20 time steps");
        Assert.That(long80, Is.LessThanOrEqualTo(256), "80 time steps");
    }

    /// <summary>
    /// A step larger than the first chunk grows the pool chunk by chunk; the reset after it replaces the chunks by one of
    /// the step's size, so the pool then holds what a step uses (not up to twice that), and the next steps, smaller or
    /// the same, allocate nothing. <see cref="Tape.PoolPeak"/> is the most the step had in use at once.
    /// </summary>
    [Test]
    public void Pool_AfterAGrowingStep_HoldsOneStep()
    {
        var w = new Parameter("w", Tensor.FromArray(Enumerable.Range(0, 300).Select(i => (float)(0.01 * i)).ToArray(), 300));
        var x = Tensor.FromArray(Enumerable.Range(0, 1000 * 300).Select(i => (float)((i % 7) - 3)).ToArray(), 1000, 300);
        using var tape = new Tape();
        long inUse = 0;
        void Step(int rows)
        {
            using (tape.Activate())
            {
                var h = Tensor.Tanh(Tensor.Slice(x, 0, 0, rows) * w.Value);
                var loss = Tensor.Mean(Tensor.Square(Tensor.Sigmoid(h) * h));
                tape.Backward(loss);
                inUse = tape.PoolPeak.Float32;
            }
            tape.Reset();
            Assert.That(tape.PoolInUse, Is.EqualTo((0L, 0L)), "nothing in use after a reset");
        }
        Step(1000);
        long grown = tape.PoolCapacity.Float32;
        Assert.That(inUse, Is.GreaterThan(6 * 300_000), "the step's results and gradients");
        Step(1000);
        long held = tape.PoolCapacity.Float32;
        TestContext.Out.WriteLine($"in use {inUse}, pool after the first reset {grown}, after the second {held} elements");
        // one chunk: the buffers of the step plus at most 15 elements of 64-byte alignment before each of them
        Assert.That(held, Is.GreaterThanOrEqualTo(inUse).And.LessThanOrEqualTo(inUse + 16 * 64));
        // a pool chunk for this step would be at least 150 000 floats (600 KB); the first smaller step may allocate a few
        // small objects of its own (new shapes), none of the pool's size
        Assert.That(SteadyStateAllocation.BytesPerRun(() => Step(500), warmUps: 0, measured: 2), Is.All.LessThan(64 * 1024),
            "a smaller step fits the pool");
        Assert.That(tape.PoolCapacity.Float32, Is.EqualTo(held), "the pool is kept for the largest step");
    }
}
