using BenchmarkDotNet.Attributes;
using Rnnx.Cli;
using Rnnx.Models;

namespace Rnnx.Benchmarks.Models;

/// <summary>
/// Inference as the libtorch peer measures it: one 50-step series held as a float[] through Predict (validation, output
/// allocation and copy included), and the 2000-series validation set in one Predict call. Baseline: the one-series call;
/// the ratio column is then the cost of the whole set relative to one series. Threads: 2 (the default).
/// </summary>
[MemoryDiagnoser]
public class PredictBenchmarks
{
    private Sequential _model = null!;
    private float[] _one = [];
    private int _steps, _features, _count;
    private Tensor _valid;

    [Params("linear", "simple_rnn", "deep_rnn", "deep_rnn_10steps", "s2s_rnn", "ln_rnn", "lstm_rnn", "conv_rnn", "wavenet")]
    public string Model { get; set; } = "lstm_rnn";

    [GlobalSetup]
    public void Setup()
    {
        var spec = ChapterModels.Get(Model);
        var (_, valid) = ChapterRunner.LoadData(spec.Task);
        _model = spec.Create(42);
        _model.Threads = 2;
        _steps = valid.XShape[1];
        _features = valid.XShape[2];
        _count = valid.Count;
        _one = valid.X.AsSpan(0, _steps * _features).ToArray();
        _valid = Tensor.FromArray(valid.X, valid.XShape);
        _model.Predict(_one, 1, _steps, _features);
        _model.Predict(_valid, batchSize: _count);
    }

    [Benchmark(Baseline = true)]
    public float[] OneSeries() => _model.Predict(_one, 1, _steps, _features);

    [Benchmark]
    public Tensor ValidationSet() => _model.Predict(_valid, batchSize: _count);
}
