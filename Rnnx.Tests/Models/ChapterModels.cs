using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimization;

namespace Rnnx.Tests.Models;

/// <summary>
/// The chapter 15 models by the notebook's variable names, created from their one definition
/// (<see cref="Rnnx.Cli.ChapterModels"/>, which the CLI and the benchmarks use too), plus a few variants that only
/// tests build.
/// </summary>
internal static class ChapterModels
{
    private static Sequential Chapter(string name, int seed) => Rnnx.Cli.ChapterModels.Get(name).Create(seed);

    public static Sequential Linear(int seed = 42) => Chapter("linear", seed);

    public static Sequential SimpleRnn(int seed = 42) => Chapter("simple_rnn", seed);

    /// <summary>SimpleRNN(20, rs) → SimpleRNN(20) → Dense(1).</summary>
    public static Sequential DeepRnn(int seed = 42) => Chapter("deep_rnn", seed);

    public static Sequential SeqToVector(int seed = 42) => Chapter("deep_rnn_10steps", seed);

    public static Sequential SeqToSeq(int seed = 42) => Chapter("s2s_rnn", seed);

    public static Sequential LnRnn(int seed = 42) => Chapter("ln_rnn", seed);

    public static Sequential Lstm(int seed = 42) => Chapter("lstm_rnn", seed);

    public static Sequential ConvGru(int seed = 42) => Chapter("conv_rnn", seed);

    public static Sequential WaveNet(int seed = 42) => Chapter("wavenet", seed);

    /// <summary>The notebook's <c>last_time_step_mse</c>.</summary>
    public static Metric LastTimeStepMse { get; } = Rnnx.Cli.ChapterModels.LastTimeStepMse();

    // Variants that only tests build (not models of the chapter).

    /// <summary>The linear model with a 10-step head: Flatten → Dense(10).</summary>
    public static Sequential LinearTenSteps(int seed = 42) =>
        new([new Flatten(inputShape: [50, 1]), new Dense(10)], "linear_10steps", seed);

    /// <summary>The deep RNN with a SimpleRNN(1) head instead of Dense(1) (return_sequences on the second layer too).</summary>
    public static Sequential DeepRnnSimpleRnnHead(int seed = 42) =>
        new([new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20, returnSequences: true), new SimpleRNN(1)], "deep_rnn", seed);

    /// <summary>The LSTM model with GRU layers.</summary>
    public static Sequential Gru(int seed = 42) =>
        new([new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20, returnSequences: true),
            new TimeDistributed(new Dense(10))], "gru_rnn", seed);
}

/// <summary>Slices of the chapter data as tensors.</summary>
internal static class ChapterSlices
{
    private static OneStepData? s_oneStep;
    private static TenStepData? s_tenStep;

    public static OneStepData OneStep => s_oneStep ??= ChapterData.OneStep();
    public static TenStepData TenStep => s_tenStep ??= ChapterData.TenStep();

    /// <summary>The first <paramref name="count"/> samples of a split as (X, Y) tensors.</summary>
    public static (Tensor X, Tensor Y) Take(DataSplit split, int count)
    {
        int xRow = split.X.Length / split.Count, yRow = split.Y.Length / split.Count;
        var x = Tensor.FromArray(split.X.AsSpan(0, count * xRow), [count, .. split.XShape[1..]]);
        var y = Tensor.FromArray(split.Y.AsSpan(0, count * yRow), [count, .. split.YShape[1..]]);
        return (x, y);
    }
}

/// <summary>Plain gradient descent (w ← w − lr·g), a private test optimizer.</summary>
internal sealed class TestSgd(double learningRate) : IOptimizer
{
    public double LearningRate { get; set; } = learningRate;

    public long Iterations { get; private set; }

    public void Step(IReadOnlyList<Parameter> parameters, Gradients gradients)
    {
        foreach (var p in parameters)
        {
            if (!p.Trainable) continue;
            if (p.DType == DType.Float32)
            {
                var w = p.AsSpan<float>();
                var g = gradients.GetSpan<float>(p);
                float lr = (float)LearningRate;
                for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
            }
            else
            {
                var w = p.AsSpan<double>();
                var g = gradients.GetSpan<double>(p);
                for (int i = 0; i < w.Length; i++) w[i] -= LearningRate * g[i];
            }
        }
        Iterations++;
    }
}
