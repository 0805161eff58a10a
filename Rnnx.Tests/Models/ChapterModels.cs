using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Tests.Layers;

namespace Rnnx.Tests.Models;

/// <summary>The chapter 15 models (keras-semantics.md §12), built as the notebook declares them.</summary>
internal static class ChapterModels
{
    public static Sequential Linear(int outputs = 1, int seed = 42) =>
        new([new Flatten(inputShape: [50, 1]), new Dense(outputs)], "linear", seed);

    public static Sequential SimpleRnn(int seed = 42) =>
        new([new SimpleRNN(1, inputShape: [null, 1])], "simple_rnn", seed);

    /// <summary>SimpleRNN(20, rs) → SimpleRNN(20) → Dense(1), or with a SimpleRNN(1) head (rs on the second layer too).</summary>
    public static Sequential DeepRnn(bool denseHead = true, int seed = 42) => denseHead
        ? new([new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(1)], "deep_rnn", seed)
        : new([new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20, returnSequences: true), new SimpleRNN(1)], "deep_rnn", seed);

    public static Sequential SeqToVector(int seed = 42) =>
        new([new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(10)], "seq_to_vector", seed);

    public static Sequential SeqToSeq(int seed = 42) =>
        new([new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20, returnSequences: true),
            new TimeDistributed(new Dense(10))], "seq_to_seq", seed);

    public static Sequential LnRnn(int seed = 42) =>
        new([new RNN(new LNSimpleRNNCell(20), returnSequences: true, inputShape: [null, 1]),
            new RNN(new LNSimpleRNNCell(20), returnSequences: true), new TimeDistributed(new Dense(10))], "ln_rnn", seed);

    public static Sequential Lstm(int seed = 42) =>
        new([new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20, returnSequences: true),
            new TimeDistributed(new Dense(10))], "lstm_rnn", seed);

    public static Sequential Gru(int seed = 42) =>
        new([new GRU(20, returnSequences: true, inputShape: [null, 1]), new GRU(20, returnSequences: true),
            new TimeDistributed(new Dense(10))], "gru_rnn", seed);

    public static Sequential ConvGru(int seed = 42) =>
        new([new Conv1D(20, 4, strides: 2, padding: "valid", inputShape: [null, 1]),
            new GRU(20, returnSequences: true), new GRU(20, returnSequences: true), new TimeDistributed(new Dense(10))], "conv_rnn", seed);

    public static Sequential WaveNet(int seed = 42)
    {
        var layers = new List<Layer> { new InputLayer([null, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 })
            layers.Add(new Conv1D(20, 2, padding: "causal", activation: "relu", dilationRate: rate));
        layers.Add(new Conv1D(10, 1));
        return new Sequential(layers, "wavenet", seed);
    }

    /// <summary>The notebook's <c>last_time_step_mse</c>: mse(Y_true[:, -1], Y_pred[:, -1]) per sample.</summary>
    public static Metric LastTimeStepMse { get; } = Metric.FromFunction("last_time_step_mse",
        (yTrue, yPred) => Metric.MeanSquaredErrorValues(Tensor.Select(yTrue, 1, -1), Tensor.Select(yPred, 1, -1)));
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
