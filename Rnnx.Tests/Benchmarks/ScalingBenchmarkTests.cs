using System.Text.Json;
using Rnnx.Benchmarks.Scaling;

namespace Rnnx.Tests.Benchmarks;

/// <summary>The scaling command measures scalebench's grid and writes its JSON.</summary>
public class ScalingBenchmarkTests
{
    // Printed by scalebench's libtorch program (../shared/scalebench, TorchScaling --params, SCALING_GRID=medium), whose
    // torch ports are built to have the Keras models' trainable parameter counts.
    private static readonly Dictionary<string, long> TorchParams = new()
    {
        ["lstm2 u20 t50 b32"] = 5250, ["lstm2 u64 t50 b32"] = 50570, ["lstm2 u128 t50 b32"] = 199434,
        ["lstm2 u256 t50 b32"] = 792074, ["lstm2 u512 t50 b32"] = 3157002, ["lstm2 u256 t200 b32"] = 792074,
        ["lstm2 u128 t50 b128"] = 199434, ["lstm2 u128 t50 b32 f32"] = 215306, ["gru2 u64 t50 b32"] = 38474,
        ["gru2 u256 t50 b32"] = 596234, ["wavenet u20 t50 b32"] = 6010, ["wavenet u64 t50 b32"] = 58634,
        ["wavenet u128 t50 b32"] = 231946, ["wavenet u64 t1000 b32"] = 58634,
    };

    [Test]
    public void MediumGrid_ParameterCountsEqualTheLibtorchHarness()
    {
        var grid = ScalingGrid.Grid("medium", null);
        Assert.That(grid.Select(c => c.Name), Is.EqualTo(TorchParams.Keys), "the same configurations in the same order");
        foreach (var c in grid) Assert.That(ScalingBenchmark.CountParams(c), Is.EqualTo(TorchParams[c.Name]), c.Name);
    }

    [Test]
    public void TinyGrid_RunsAndWritesScalebenchJson()
    {
        var configs = new[] { new ScalingConfig("lstm2", 8, 6, 4, 1), new ScalingConfig("gru2", 8, 6, 4, 2), new ScalingConfig("wavenet", 4, 12, 4, 1) };
        var report = ScalingBenchmark.NewReport(threads: 2);
        foreach (var c in configs) report.Results.Add(ScalingBenchmark.RunConfig(c, 2, new TimingProtocol(Warmup: 1, MinRuns: 2, MinSeconds: 0)));
        using var doc = JsonDocument.Parse(ScalingGrid.ToJson(report));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("threads").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("engine").GetString(), Does.StartWith("Rnnx"));
        var results = root.GetProperty("results");
        Assert.That(results.GetArrayLength(), Is.EqualTo(3));
        var first = results[0];
        Assert.That(first.GetProperty("name").GetString(), Is.EqualTo("lstm2 u8 t6 b4"));
        Assert.That(results[1].GetProperty("name").GetString(), Is.EqualTo("gru2 u8 t6 b4 f2"));
        // LSTM(8) on 1 feature + LSTM(8) + Dense(10): 4(8*9+8) + 4(8*16+8) + 90 (Keras's count)
        Assert.That(first.GetProperty("parameters").GetInt64(), Is.EqualTo(4 * (8 * 9 + 8) + 4 * (8 * 16 + 8) + 90));
        foreach (var r in results.EnumerateArray())
        {
            foreach (var key in new[] { "step_ms", "predict1_ms", "predict256_ms" })
                Assert.That(r.GetProperty(key).GetDouble(), Is.GreaterThan(0), key);
            foreach (var key in new[] { "step_runs", "predict1_runs", "predict256_runs" })
                Assert.That(r.GetProperty(key).GetInt32(), Is.GreaterThanOrEqualTo(2), key);
            Assert.That(r.GetProperty("step_alloc_kb").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(double.IsFinite(r.GetProperty("final_loss").GetDouble()), Is.True);
        }
    }

    [TestCase("--threads", "0")]
    [TestCase("--grid", "huge")]
    [TestCase("--only", "transformer")]
    [TestCase("--bogus", "1")]
    [TestCase("--repeat", "0")]
    [TestCase("--repeat", "x")]
    public void BadArguments_AreRefusedWithExitCode2(string option, string value)
    {
        var err = new StringWriter();
        var saved = Console.Error;
        Console.SetError(err);
        try
        {
            Assert.That(ScalingBenchmark.Run([option, value, "--params"]), Is.EqualTo(2));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(err.ToString(), Does.Contain("usage: scaling"));
    }

    [Test]
    public void MedianOf_Passes_TakesEachFiguresMedianAndSumsTheRuns()
    {
        ScalingResult Pass(double step, double p1, double p256, double alloc, double loss) =>
            new("wavenet u4 t12 b4", "wavenet", 4, 12, 4, 1, 100, step, p1, p256, 10, 11, 12, alloc, 0, 1, loss);
        var m = ScalingGrid.MedianOf([Pass(3, 1, 9, 0, 0.5), Pass(1, 2, 7, 4, 0.4), Pass(2, 30, 8, 2, 0.3)]);
        Assert.That((m.StepMs, m.Predict1Ms, m.Predict256Ms), Is.EqualTo((2.0, 2.0, 8.0)));
        Assert.That((m.StepRuns, m.Predict1Runs, m.Predict256Runs), Is.EqualTo((30, 33, 36)));
        Assert.That((m.StepAllocKb, m.Predict1AllocKb, m.Predict256AllocKb), Is.EqualTo(((double?)2.0, (double?)0.0, (double?)1.0)));
        Assert.That(m.FinalLoss, Is.EqualTo(0.3), "the last pass's loss");
        Assert.That(ScalingGrid.Median([4.0, 1.0, 3.0, 2.0]), Is.EqualTo(2.5));
        var other = Pass(1, 1, 1, 0, 0) with { Name = "lstm2 u8 t6 b4" };
        Assert.Throws<ArgumentException>(() => ScalingGrid.MedianOf([Pass(1, 1, 1, 0, 0), other]));
        Assert.Throws<ArgumentException>(() => ScalingGrid.MedianOf([]));
    }

    [Test]
    public void WriteAtomically_ReplacesTheFileAndLeavesNoTemporary()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rnnx-scaling-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "r.json");
            ScalingGrid.WriteAtomically(file, "{\"a\": 1}");
            ScalingGrid.WriteAtomically(file, "{\"b\": 2}");
            Assert.That(File.ReadAllText(file), Is.EqualTo("{\"b\": 2}"));
            Assert.That(Directory.GetFiles(dir).Select(Path.GetFileName), Is.EqualTo(new[] { "r.json" }), "no temporary file left");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The memory figures of a small WaveNet: the minimum is the 8 convolutions' outputs and the model's output; the step
    /// keeps at least that after its forward pass, more after its backward pass, and the pool holds one step.
    /// </summary>
    [Test]
    public void TrainingMemory_SmallWaveNet_StatesItsWorkingSetAgainstTheMinimum()
    {
        var c = new ScalingConfig("wavenet", 16, 40, 4, 1);
        var r = TrainingMemory.Measure(c);
        Assert.That(r.Minimum, Is.EqualTo((8L * 4 * 40 * 16 + 4 * 40 * 10) * sizeof(float)));
        Assert.That(r.AfterForward, Is.GreaterThanOrEqualTo(r.Minimum));
        Assert.That(r.Peak, Is.GreaterThan(r.AfterForward), "the backward pass adds gradients to what the forward pass keeps");
        // the pool holds the peak plus what the layout could not reuse, and at least one segment of 2^16 floats
        Assert.That(r.PoolCapacity, Is.GreaterThanOrEqualTo(r.Peak).And.LessThan(Math.Max(r.Peak + 64 * 1024, (1 << 16) * sizeof(float) + 1)));
        Assert.That(TrainingMemory.Line(r), Does.Contain("wavenet u16 t40 b4").And.Contain("x the minimum"));
        Assert.That(TrainingMemory.MinimumActivations(new ScalingConfig("lstm2", 8, 5, 2, 1)), Is.EqualTo((2L * 6 * 2 * 5 * 8 + 2 * 5 * 10) * sizeof(float)));
        Assert.Throws<ArgumentException>(() => TrainingMemory.MinimumActivations(new ScalingConfig("gru2", 8, 5, 2, 1)));
        Assert.That(TrainingMemory.IssuePoints.Select(p => p.Name), Is.EqualTo(new[] { "lstm2 u512 t200 b32", "wavenet u64 t1000 b32" }));
    }

    /// <summary>
    /// What the WaveNet's working set holds at its peak, buffer by buffer (float32 elements; `--memory` with
    /// <see cref="Tape.ReleaseIntermediateValues"/>, as the training step): the values the minimum counts (8 convolution
    /// outputs and the model output), the loss (one element, the differentiated output, kept), and in the head's backward
    /// the model output's gradient and the last convolution's output gradient; the loss's intermediates (difference,
    /// square) and their gradients are given back by then, and each convolution writes its activation's gradient over
    /// its own output, so no third B·T·C buffer appears. With C = 32 the head's backward is the peak (10 + 32 elements
    /// per row over the minimum against the loss's 10 + 10 + 10 + 10).
    /// </summary>
    [Test]
    public void TrainingMemory_WaveNet_PeakIsTheMinimumPlusOneConvolutionGradientAndTheOutputGradient()
    {
        var c = new ScalingConfig("wavenet", 32, 40, 4, 1);
        var r = TrainingMemory.Measure(c);
        long rows = 4 * 40;
        Assert.That(r.Minimum, Is.EqualTo((8 * 32 + 10) * rows * sizeof(float)));
        Assert.That(r.Peak, Is.EqualTo(r.Minimum + ((32 + 10) * rows + 1) * sizeof(float)));
    }

    /// <summary>
    /// What the LSTM's working set adds at its peak, inside the second layer's step loop (float32 elements): the gradient
    /// of that layer's output (B·T·U), its packed Rᵀ and the step carries dh, dc (B·U each); the head's MatMul result and
    /// the loss's difference and square (B·T·10 each) have been given back. No B·T·U buffer for tanh(C): it is
    /// recomputed over C step by step. Enough rows that this, not the forward's packed W and R (U·4U each, transient), is the peak.
    /// </summary>
    [Test]
    public void TrainingMemory_Lstm_PeakAddsTheOutputGradientAndPackedRtOnly()
    {
        const int units = 64, steps = 20, batch = 32;   // wide enough that the LSTM, not the loss, makes the peak
        var r = TrainingMemory.Measure(new ScalingConfig("lstm2", units, steps, batch, 1));
        long rows = batch * steps;
        long added = rows * units + global::Rnnx.Kernels.PackedGemm.PackedLength<float>(4 * units, units) + 2 * batch * units;
        long givenBack = 3 * rows * 10;
        Assert.That(r.Peak, Is.EqualTo(r.AfterForward + (added - givenBack) * sizeof(float)));
    }
}
