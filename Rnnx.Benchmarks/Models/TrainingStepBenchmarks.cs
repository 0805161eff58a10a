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
    public void Setup()
    {
        var spec = ChapterModels.Get(Model);
        var (train, _) = ChapterRunner.LoadData(spec.Task);
        _model = spec.Create(42);
        _model.Threads = Threads;
        Metric[] metrics = spec.UsesLastTimeStepMse ? [ChapterModels.LastTimeStepMse()] : [];
        _model.Compile(new Nadam(), Loss.MeanSquaredError, metrics);
        int rowX = train.X.Length / train.Count, rowY = train.Y.Length / train.Count;
        _x = Tensor.FromArray(train.X.AsSpan(0, 32 * rowX), [32, .. train.XShape[1..]]);
        _y = Tensor.FromArray(train.Y.AsSpan(0, 32 * rowY), [32, .. train.YShape[1..]]);
        for (int i = 0; i < 5; i++) _model.TrainOnBatch(_x, _y);
    }

    [Benchmark]
    public double Step() => _model.TrainOnBatch(_x, _y);
}
