using Rnnx.Layers;
using Rnnx.Random;
using Rnnx.Tests.TestUtilities;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// A training step (forward, backward, tape reset) of the chapter's 2-layer LSTM on (32, T, 1) allocates (almost)
/// nothing once the tape's pools are warm, whatever T: all buffers come from the tape, the per-step loop creates no
/// tensors and RNN keeps its states inline. The same for a stateful LSTM (its carried states are copied through
/// tape buffers) and the peephole LSTM.
/// </summary>
[NonParallelizable]
public class FusedAllocationTests
{
    public enum Kind { Lstm, Gru, StatefulLstm, PeepholeLstm }

    [Test]
    public void TrainingStepAllocatesNothingAfterWarmUp([Values(20, 80)] int steps, [Values] Kind kind)
    {
        RNN l1 = kind switch
        {
            Kind.Lstm => new LSTM(20, returnSequences: true),
            Kind.Gru => new GRU(20, returnSequences: true),
            Kind.StatefulLstm => new LSTM(20, returnSequences: true, stateful: true, batchSize: 32),
            _ => new RNN(new PeepholeLSTMCell(20), returnSequences: true),
        };
        RNN l2 = kind switch
        {
            Kind.Lstm => new LSTM(20),
            Kind.Gru => new GRU(20),
            Kind.StatefulLstm => new LSTM(20, stateful: true, batchSize: 32),
            _ => new RNN(new PeepholeLSTMCell(20)),
        };
        l1.Build([null, 1], DType.Float32, new NumPyRandomState(1));
        l2.Build([null, 20], DType.Float32, new NumPyRandomState(2));
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
        TestContext.Out.WriteLine($"{kind} T={steps}: {allocated} bytes per training step after warm-up");
        Assert.That(allocated, Is.LessThan(1024), $"bytes allocated by one training step with T = {steps}");
    }
}
