using BenchmarkDotNet.Attributes;
using Rnnx.Cli;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Benchmarks.Models;

/// <summary>
/// One full training step (forward, loss, backpropagation through time, Nadam update) of each chapter model on a
/// batch of 32 of the chapter's data. Baseline: the same step on one thread; the ratio is the two-thread speed-up.
/// MemoryDiagnoser shows the steady-state allocation per step.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private Sequential _model = null!;
    private Tensor _x, _y;

    [Params("linear", "simple_rnn", "deep_rnn", "deep_rnn_10steps", "s2s_rnn", "ln_rnn", "lstm_rnn", "conv_rnn", "wavenet")]
    public string Model { get; set; } = "lstm_rnn";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup() => _model = Prepare(Model, Threads, out _x, out _y);

    [Benchmark]
    public double Step() => _model.TrainOnBatch(_x, _y);

    /// <summary>The compiled model <paramref name="name"/> (seed 42) after 5 warm-up steps on the first 32 training samples.</summary>
    internal static Sequential Prepare(string name, int threads, out Tensor x, out Tensor y)
    {
        var spec = ChapterModels.Get(name);
        var (train, _) = ChapterRunner.LoadData(spec.Task);
        var model = spec.Create(42);
        model.Threads = threads;
        Metric[] metrics = spec.UsesLastTimeStepMse ? [ChapterModels.LastTimeStepMse()] : [];
        model.Compile(new Nadam(), Loss.MeanSquaredError, metrics);
        int rowX = train.X.Length / train.Count, rowY = train.Y.Length / train.Count;
        x = Tensor.FromArray(train.X.AsSpan(0, 32 * rowX), [32, .. train.XShape[1..]]);
        y = Tensor.FromArray(train.Y.AsSpan(0, 32 * rowY), [32, .. train.YShape[1..]]);
        for (int i = 0; i < 5; i++) model.TrainOnBatch(x, y);
        return model;
    }
}

/// <summary>
/// The chapter's LSTM model with <c>dropout=0.2, recurrentDropout=0.2</c> on both LSTM layers (<c>lstm_dropout</c>) against
/// the plain one (<c>lstm_rnn</c>, the baseline): one training step each on the same batch, so the Ratio column is the
/// cost of dropout (masks drawn per sequence, per-gate masked GEMMs in the fused LSTM op).
/// </summary>
[MemoryDiagnoser]
public class DropoutTrainingStepBenchmarks
{
    private Sequential _plain = null!, _dropout = null!;
    private Tensor _x, _y;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _plain = TrainingStepBenchmarks.Prepare("lstm_rnn", Threads, out _x, out _y);
        _dropout = TrainingStepBenchmarks.Prepare("lstm_dropout", Threads, out _, out _);
    }

    [Benchmark(Baseline = true)]
    public double Plain() => _plain.TrainOnBatch(_x, _y);

    [Benchmark]
    public double Dropout() => _dropout.TrainOnBatch(_x, _y);
}
