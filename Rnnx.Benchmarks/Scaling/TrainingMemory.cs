using Rnnx.Models;

namespace Rnnx.Benchmarks.Scaling;

/// <summary>
/// The training working set of a grid configuration against the activations backpropagation must keep.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- scaling --memory [--grid ...] [--only lstm2|wavenet]</code>
/// (without a grid: <see cref="IssuePoints"/>).
/// One forward and backward pass of the whole batch on one tape (the model's own training splits the batch over its
/// shards' tapes, whose sum is the same), after a warm-up pass, releasing intermediates' gradients as the training step
/// does (and writing gradients over values nothing reads any more, <see cref="Tape.ReleaseIntermediateValues"/>): the
/// working set is the most the tape had in use at once (results, gradients, scratch).
/// </summary>
public static class TrainingMemory
{
    /// <summary>The points whose working set issue 14 asks for: LSTM U=512, T=200 and WaveNet U=64, T=1000 (B=32).</summary>
    public static IReadOnlyList<ScalingConfig> IssuePoints { get; } = [new("lstm2", 512, 200, 32, 1), new("wavenet", 64, 1000, 32, 1)];

    /// <summary>One configuration's figures, in bytes.</summary>
    /// <param name="Name">The configuration.</param>
    /// <param name="AfterForward">Tape buffers in use after the forward pass and the loss.</param>
    /// <param name="Peak">The most tape buffers in use at once during the step (<see cref="Tape.PoolPeak"/>): the step's working set.</param>
    /// <param name="PoolCapacity">What the tape's pools hold to serve the step.</param>
    /// <param name="Minimum">The activations backpropagation must keep (<see cref="MinimumActivations"/>).</param>
    public sealed record Result(string Name, long AfterForward, long Peak, long PoolCapacity, long Minimum)
    {
        /// <summary>Working set over the minimum.</summary>
        public double Ratio => (double)Peak / Minimum;
    }

    /// <summary>
    /// Bytes of float32 activations the backward pass of the configuration's model needs and cannot recompute cheaply:
    /// per LSTM layer its gate activations (4U), cell states and outputs (U each) at every step; per convolution its
    /// output (the next layer's input, and the ReLU's derivative); and the model's output (the loss gradient).
    /// </summary>
    /// <exception cref="ArgumentException">A model family without a stated minimum (GRU).</exception>
    public static long MinimumActivations(ScalingConfig c)
    {
        long bt = (long)c.Batch * c.Steps;
        long output = bt * ScalingGrid.Outputs;
        return c.Model switch
        {
            "lstm2" => 2 * 6 * bt * c.Units * sizeof(float) + output * sizeof(float),
            "wavenet" => ScalingGrid.Dilations.Length * bt * c.Units * sizeof(float) + output * sizeof(float),
            _ => throw new ArgumentException($"no stated minimum for model family '{c.Model}' (lstm2 and wavenet have one)", nameof(c)),
        };
    }

    /// <summary>Measures one configuration.</summary>
    public static Result Measure(ScalingConfig c)
    {
        long minimum = MinimumActivations(c);
        var model = ScalingBenchmark.BuildModel(c);
        model.Build();
        var x = Tensor.FromArray(ScalingGrid.Uniform(c.Batch * c.Steps * c.Features, 1), [c.Batch, c.Steps, c.Features]);
        var y = Tensor.FromArray(ScalingGrid.Uniform(c.Batch * c.Steps * ScalingGrid.Outputs, 2), [c.Batch, c.Steps, ScalingGrid.Outputs]);
        using var tape = new Tape { ReleaseIntermediateGradients = true, ReleaseIntermediateValues = true };   // as the model's training step
        long afterForward = 0, afterBackward = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            using (tape.Activate())
            {
                var loss = Tensor.Mean(Tensor.Square(model.Call(x, training: true) - y));
                afterForward = tape.PoolInUse.Float32;
                tape.Backward(loss);
                afterBackward = tape.PoolPeak.Float32;
            }
            tape.Reset();
        }
        return new Result(c.Name, afterForward * sizeof(float), afterBackward * sizeof(float), tape.PoolCapacity.Float32 * sizeof(float), minimum);
    }

    /// <summary>One result as one console line (MB = 10^6 bytes).</summary>
    public static string Line(Result r) =>
        $"{r.Name,-24} minimum {r.Minimum / 1e6,8:F1} MB  in use after forward {r.AfterForward / 1e6,8:F1} MB  peak {r.Peak / 1e6,8:F1} MB " +
        $"({r.Ratio:F2}x the minimum)  pools hold {r.PoolCapacity / 1e6,8:F1} MB";
}
