using BenchmarkDotNet.Attributes;
using Rnnx.Cli;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Benchmarks.Models;

/// <summary>
/// One training step of a chapter model built as a <see cref="Sequential"/> stack (baseline) and the same layers built
/// with the functional API (<c>Input</c>, <c>Apply</c>, <c>new Model(input, output)</c>): the ratio is the cost of the
/// graph machinery over the chain, measured in the same run. Both train the same bits.
/// </summary>
[MemoryDiagnoser]
public class FunctionalVsSequentialBenchmarks
{
    private Model _sequential = null!, _functional = null!;
    private Tensor _x, _y;

    [Params("deep_rnn", "lstm_rnn")]
    public string Model { get; set; } = "lstm_rnn";

    [GlobalSetup]
    public void Setup()
    {
        var spec = ChapterModels.Get(Model);
        var (train, _) = ChapterRunner.LoadData(spec.Task);
        _sequential = spec.Create(42);
        var layers = spec.Layers();
        var input = new Input(layers[0].DeclaredInputShape ?? [null, 1]);
        var x = (SymbolicTensor)input;
        foreach (var layer in layers.Where(l => l is not InputLayer)) x = layer.Apply(x);
        _functional = new Model(input, x, Model, 42);
        int rowX = train.X.Length / train.Count, rowY = train.Y.Length / train.Count;
        _x = Tensor.FromArray(train.X.AsSpan(0, 32 * rowX), [32, .. train.XShape[1..]]);
        _y = Tensor.FromArray(train.Y.AsSpan(0, 32 * rowY), [32, .. train.YShape[1..]]);
        foreach (var m in new[] { _sequential, _functional })
        {
            m.Threads = 1;
            Metric[] metrics = spec.UsesLastTimeStepMse ? [ChapterModels.LastTimeStepMse()] : [];
            m.Compile(new Nadam(), Loss.MeanSquaredError, metrics);
            for (int i = 0; i < 5; i++) m.TrainOnBatch(_x, _y);
        }
    }

    [Benchmark(Baseline = true)]
    public double SequentialStep() => _sequential.TrainOnBatch(_x, _y);

    [Benchmark]
    public double FunctionalStep() => _functional.TrainOnBatch(_x, _y);
}
