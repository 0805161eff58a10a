using BenchmarkDotNet.Attributes;
using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Benchmarks.Layers;

/// <summary>
/// One training step (forward, backward through time, tape reset) of a recurrent layer with 20 units on a batch of
/// 32 sequences of 50 steps, float32: the fused whole-sequence kernel against the composed step loop (baseline).
/// Features 1 is the chapter's first layer, 20 a stacked layer.
/// </summary>
[MemoryDiagnoser]
public class RecurrentBenchmarks
{
    private RNN _layer = null!;
    private Tensor _x;
    private readonly Tape _tape = new();

    /// <summary>The layer type.</summary>
    [Params("LSTM", "GRU", "SimpleRNN")]
    public string Cell { get; set; } = "LSTM";

    /// <summary>Input features per step.</summary>
    [Params(1, 20)]
    public int Features { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _layer = Cell switch
        {
            "LSTM" => new LSTM(20, returnSequences: true),
            "GRU" => new GRU(20, returnSequences: true),
            _ => new SimpleRNN(20, returnSequences: true),
        };
        _layer.Build([null, Features], DType.Float32, new NumPyRandomState(42));
        var values = new NumPyRandomState(7).Rand(32, 50, Features);
        _x = Tensor.FromArray(values, 32, 50, Features).Copy(DType.Float32);
    }

    [Benchmark(Baseline = true)]
    public double Composed() => Step(fused: false);

    [Benchmark]
    public double Fused() => Step(fused: true);

    private double Step(bool fused)
    {
        _layer.UseFusedKernel = fused;
        double loss;
        using (_tape.Activate())
        {
            var y = _layer.Call(_x, training: true);
            var l = Tensor.Mean(Tensor.Square(y));
            _tape.Backward(l);
            loss = l.Item();
        }
        _tape.Reset();
        return loss;
    }
}
