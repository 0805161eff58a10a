using BenchmarkDotNet.Attributes;
using Rnnx.Layers;
using Rnnx.Random;

namespace Rnnx.Benchmarks.Layers;

/// <summary>
/// One training step (forward, backward through time, tape reset) of a 32-unit layer on a batch of 32 sequences with
/// 16 features, float32, through the fused ops: every sequence 50 steps long (no mask, the baseline), the same batch
/// padded to 50 with lengths spread evenly over 10..50 (a mask; mean length 30), and every sequence 30 steps long
/// (no mask). Masked work follows the steps actually computed, so the spread case should cost about what 30 steps do.
/// On a shared machine compare the Min column (the least disturbed iteration) of rows from one run.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class MaskedRecurrentBenchmarks
{
    private RNN _layer = null!;
    private Tensor _x;
    private Tensor? _mask;
    private readonly Tape _tape = new();

    /// <summary>The layer type.</summary>
    [Params("LSTM", "GRU")]
    public string Cell { get; set; } = "LSTM";

    /// <summary>The batch's lengths (the masked batch in length order, or the same lengths shuffled).</summary>
    [Params("all 50", "10..50 masked", "10..50 shuffled", "all 30")]
    public string Lengths { get; set; } = "all 50";

    /// <summary>The (sample, step) pairs the layer computes, known after <see cref="Setup"/>.</summary>
    public int StepsComputed { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _layer = Cell == "LSTM" ? new LSTM(32) : new GRU(32);
        _layer.Build([null, 16], DType.Float32, new NumPyRandomState(42));
        int steps = Lengths == "all 30" ? 30 : 50;
        var values = new NumPyRandomState(7).Rand(32, steps, 16);
        _x = Tensor.FromArray(values, 32, steps, 16).Copy(DType.Float32);
        // 10, 11.3, ..., 50: 32 lengths spread evenly, mean 30; shuffled, a step's active rows are no longer one run.
        var lengths = Enumerable.Range(0, 32).Select(b => 10 + (int)Math.Round(40.0 * b / 31)).ToArray();
        if (Lengths == "10..50 shuffled") new System.Random(3).Shuffle(lengths);
        bool masked = Lengths.StartsWith("10..50", StringComparison.Ordinal);
        _mask = masked ? Tensor.SequenceMask(lengths, 50) : null;
        StepsComputed = masked ? lengths.Sum() : 32 * steps;
    }

    [Benchmark]
    public double Step()
    {
        double loss;
        using (_tape.Activate())
        {
            var y = _layer.Call(_x, _mask, training: true);
            var l = Tensor.Mean(Tensor.Square(y));
            _tape.Backward(l);
            loss = l.Item();
        }
        _tape.Reset();
        return loss;
    }
}
