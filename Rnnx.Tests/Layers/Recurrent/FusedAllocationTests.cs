using Rnnx.Layers;
using Rnnx.Random;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// A training step (forward, backward, tape reset) of the chapter's 2-layer LSTM on (32, T, 1) allocates (almost)
/// nothing once the tape's pools are warm, whatever T: all buffers come from the tape, the per-step loop creates no
/// tensors and RNN keeps its states inline.
/// </summary>
[NonParallelizable]
public class FusedAllocationTests
{
    [Test]
    public void TrainingStepAllocatesNothingAfterWarmUp([Values(20, 80)] int steps, [Values(true, false)] bool lstm)
    {
        RNN l1 = lstm ? new LSTM(20, returnSequences: true) : new GRU(20, returnSequences: true);
        RNN l2 = lstm ? new LSTM(20) : new GRU(20);
        AssertStepAllocatesNothing(l1, l2, 20, steps, $"{(lstm ? "LSTM" : "GRU")} T={steps}");
    }

    /// <summary>The same for a stateful LSTM (its carried states are copied through tape buffers) and the peephole LSTM.</summary>
    [Test]
    public void StatefulAndPeepholeTrainingStepsAllocateNothingAfterWarmUp([Values(false, true)] bool peephole)
    {
        RNN l1 = peephole ? new RNN(new PeepholeLSTMCell(20), returnSequences: true) : new LSTM(20, returnSequences: true, stateful: true, batchSize: 32);
        RNN l2 = peephole ? new RNN(new PeepholeLSTMCell(20)) : new LSTM(20, stateful: true, batchSize: 32);
        AssertStepAllocatesNothing(l1, l2, 20, 50, peephole ? "peephole LSTM" : "stateful LSTM");
    }

    /// <summary>The same for the Bidirectional forecaster of example (c), every merge mode: flip and merge come from the tape too.</summary>
    [Test]
    public void BidirectionalTrainingStepAllocatesNothingAfterWarmUp([Values("concat", "sum", "mul", "ave")] string mergeMode)
    {
        var l1 = new Bidirectional(new LSTM(20, returnSequences: true), mergeMode);
        var l2 = new Bidirectional(new LSTM(20), mergeMode);
        AssertStepAllocatesNothing(l1, l2, mergeMode == "concat" ? 40 : 20, 50, $"Bidirectional LSTM ({mergeMode})");
    }

    /// <summary>Forward through <paramref name="l1"/> and <paramref name="l2"/> on (32, steps, 1), backward, tape reset: under 1 KiB after warm-up.</summary>
    private static void AssertStepAllocatesNothing(Layer l1, Layer l2, int between, int steps, string what)
    {
        l1.Build([null, 1], DType.Float32, new NumPyRandomState(1));
        l2.Build([null, between], DType.Float32, new NumPyRandomState(2));
        var x = RandomTensor(new NumPyRandomState(3), DType.Float32, 1.0, 32, steps, 1);
        var kernel = l1.Weights[0];
        using var tape = new Tape();

        void Step()
        {
            using (tape.Activate())
            {
                var y = l2.Call(l1.Call(x, true), true);
                var loss = Tensor.Mean(Tensor.Square(y));
                var g = tape.Backward(loss);
                _ = g.GetSpan<float>(kernel);
            }
            tape.Reset();
        }

        // warm-up: pools, gradient slots, JIT
        long allocated = SteadyStateAllocation.BytesPerRun(Step, warmUps: 5, measured: 3).Max();
        TestContext.Out.WriteLine($"{what}: {allocated} bytes per training step after warm-up");
        Assert.That(allocated, Is.LessThan(1024), $"bytes allocated by one training step ({what})");
    }

    /// <summary>
    /// The same with a per-sample mask (lengths spread over the batch, as Embedding(maskZero) gives): the packed plan and
    /// buffers come from the tape too, and recording the masked ops allocates nothing, so the step allocates 0 B.
    /// </summary>
    [Test]
    public void MaskedTrainingStepAllocatesNothingAfterWarmUp([Values(true, false)] bool lstm)
    {
        const int steps = 40;
        RNN l1 = lstm ? new LSTM(20, returnSequences: true) : new GRU(20, returnSequences: true);
        RNN l2 = lstm ? new LSTM(20) : new GRU(20);
        l1.Build([null, 1], DType.Float32, new NumPyRandomState(1));
        l2.Build([null, 20], DType.Float32, new NumPyRandomState(2));
        var x = RandomTensor(new NumPyRandomState(3), DType.Float32, 1.0, 32, steps, 1);
        var mask = Tensor.SequenceMask(Enumerable.Range(0, 32).Select(b => 10 + b % 31).ToArray(), steps);
        var kernel = l1.Weights[0];
        using var tape = new Tape();

        void Step()
        {
            using (tape.Activate())
            {
                var h = l1.Call(x, mask, true);
                var y = l2.Call(h, l1.ComputeMask(x, mask), true);
                var loss = Tensor.Mean(Tensor.Square(y));
                var g = tape.Backward(loss);
                _ = g.GetSpan<float>(kernel);
            }
            tape.Reset();
        }

        long allocated = SteadyStateAllocation.BytesPerRun(Step, warmUps: 5, measured: 3).Max();
        TestContext.Out.WriteLine($"masked {(lstm ? "LSTM" : "GRU")} T={steps}: {allocated} bytes per training step after warm-up");
        Assert.That(allocated, Is.Zero, "bytes allocated by one masked training step");
    }
}
