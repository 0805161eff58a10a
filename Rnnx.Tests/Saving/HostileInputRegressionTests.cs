using System.Diagnostics;
using System.Text.Json.Nodes;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Saving;
using Rnnx.Tests.Saving.Fuzzing;

namespace Rnnx.Tests.Saving;

/// <summary>
/// Each escape the structure-aware attack on the loader found, as a named case: every file is refused with a
/// <see cref="ModelFormatException"/> (or loads, where that is right) in bounded time and memory, and a target model is
/// unchanged. Files are edited with <see cref="FuzzFile"/>, which keeps the CRC valid so the defect reaches the parser.
/// </summary>
[TestFixture]
public sealed class HostileInputRegressionTests
{
    private const long SmallAllocation = 64L << 20;
    private string _dir = "";
    private byte[] _lstm = [], _nadam = [];

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = TestModels.TempDir();
        _lstm = Saved(new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), new Adam(), [5, 2]);
        _nadam = Saved(new Sequential(new SimpleRNN(3, inputShape: [null, 1]), new Dense(1)), new Nadam(), [4, 1]);
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private byte[] Saved(Sequential m, IOptimizer optimizer, int[] xShape)
    {
        m.Compile(optimizer, Losses.Loss.MeanSquaredError);
        m.Fit(TestModels.Input(xShape, 8, DType.Float32), TestModels.Input([1], 8, DType.Float32, 3), epochs: 1, batchSize: 4, verbose: 0);
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".rnnx");
        m.Save(path, new SaveOptions { Epoch = 1 });
        return File.ReadAllBytes(path);
    }

    private static byte[] Edit(byte[] bytes, Action<FuzzFile> edit)
    {
        var f = FuzzFile.From(bytes);
        edit(f);
        return f.Assemble();
    }

    private static byte[] EditJson(byte[] bytes, string key, Action<JsonObject> edit) => Edit(bytes, f =>
    {
        var o = JsonNode.Parse(f.Metadata[key])!.AsObject();
        edit(o);
        f.Metadata[key] = o.ToJsonString();
    });

    private static JsonObject FirstLayerConfig(JsonObject arch) => arch["layers"]![0]!["config"]!.AsObject();

    /// <summary>Every load entry point refuses the bytes with a <see cref="ModelFormatException"/> containing <paramref name="expected"/>, quickly and without large allocations.</summary>
    /// <param name="bytes">The file.</param>
    /// <param name="expected">Part of the message.</param>
    /// <param name="target">Creates a model of the file's architecture, for <c>RestoreCheckpoint</c>; null when the defect is in the architecture, which a restore does not read.</param>
    /// <param name="inCompileSettings">The defect is in the compile settings or optimizer state, which <c>Load(compile: false)</c> ignores by design.</param>
    /// <param name="maxAllocation">Bytes a refusal may allocate (the file's own size counts).</param>
    private void AllRefuse(byte[] bytes, string expected, Func<Sequential>? target = null, bool inCompileSettings = false, long maxAllocation = SmallAllocation)
    {
        string path = Path.Combine(_dir, "hostile.rnnx");
        File.WriteAllBytes(path, bytes);
        Refused(() => ModelIO.Load(path), expected, maxAllocation);
        if (!inCompileSettings) Refused(() => ModelIO.Load(path, compile: false), expected, maxAllocation);
        Refused(() => ModelIO.LoadCheckpoint(path), expected, maxAllocation);
        if (target is null) return;
        var m = target();
        m.Compile(new Adam(), Losses.Loss.MeanSquaredError);
        m.Build();
        var before = TestModels.Snapshot(m);
        Refused(() => ModelIO.RestoreCheckpoint(m, path), expected);
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights after a refused restore");
        Assert.That(m.Optimizer!.Iterations, Is.EqualTo(0), "optimizer after a refused restore");
    }

    private static void Refused(Action load, string expected, long maxAllocation = SmallAllocation)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ModelFormatException>(() => load())!;
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "refused in bounded time");
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - allocated, Is.LessThan(maxAllocation), "refused before allocating what the file declares");
        Assert.That(e.Message, Does.Contain(expected));
    }

    // ------------------------------------------------------------------ sizes declared by the architecture

    [TestCase(100000, TestName = "LstmUnits100000_WasA10GBRequest")]
    [TestCase(1431655766, TestName = "LstmUnits1431655766_WrappedToAn11GBRequest")]
    [TestCase(2000, TestName = "Lstm2000InASmallFile_Took408sOfOrthogonalInit")]
    public void HugeLstmUnitsAreRefusedBeforeAllocation(int units) =>
        AllRefuse(EditJson(_lstm, "rnnx.architecture", a => FirstLayerConfig(a)["units"] = units), "weight values");

    [Test]
    public void Conv1DFilters536870913_WasAn8GBRequest()
    {
        var bytes = Saved(new Sequential(new Conv1D(2, 2, inputShape: [6, 1]), new Flatten(), new Dense(1)), new Adam(), [6, 1]);
        AllRefuse(EditJson(bytes, "rnnx.architecture", a => FirstLayerConfig(a)["filters"] = 536870913), "weight values");
    }

    [TestCase(536870913, TestName = "CustomCellUnits536870913_ProbeStepStatesTook2GB")]
    [TestCase(2147483647, TestName = "CustomCellUnits2147483647_ProbeStepStatesWereArrayDimensionsExceeded")]
    public void CustomCellWithHugeUnitsIsRefusedBeforeItsProbeStep(int units)
    {
        Rnnx.Cli.LNSimpleRNNCell.Register();
        var bytes = Saved(new Sequential(new RNN(new Rnnx.Cli.LNSimpleRNNCell(3), inputShape: [null, 1]), new Dense(1)), new Adam(), [4, 1]);
        AllRefuse(EditJson(bytes, "rnnx.architecture", a => FirstLayerConfig(a)["cell"]!["config"]!["units"] = units), "probe step");
    }

    [Test]
    public void InputShape2147483647_WasArrayDimensionsExceeded() =>
        AllRefuse(EditJson(_lstm, "rnnx.architecture", a => { a["input_shape"]![1] = 2147483647; a["layers"]![0]!["input_shape"]![1] = 2147483647; }), "weight values");

    [TestCase(2147483647, TestName = "Shards2147483647_LoadedThenFitRanOutOfMemory")]
    [TestCase(65536, TestName = "Shards65536_OneEpochAllocated1point9GB")]
    [TestCase(0, TestName = "Shards0_Refused")]
    public void ShardsOutsideTheLimitAreRefused(int shards) =>
        AllRefuse(EditJson(_lstm, "rnnx.architecture", a => a["shards"] = shards), "ModelLoadOptions.MaxShards");

    [TestCase(100_000, "ModelLoadOptions.MaxMetadataBytes", TestName = "AHundredThousandLayers_WasQuadraticAdd77s")]
    [TestCase(10_001, "ModelLoadOptions.MaxLayers", TestName = "TenThousandAndOneLayers_AboveTheLayerLimit")]
    public void ManyLayersAreRefusedQuickly(int count, string expected)
    {
        AllRefuse(EditJson(_nadam, "rnnx.architecture", a =>
        {
            var first = a["layers"]![1]!.AsObject();
            var layers = new JsonArray { a["layers"]![0]!.DeepClone() };
            for (int i = 0; i < count; i++)
            {
                var l = (JsonObject)first.DeepClone();
                l["name"] = $"d{i}";
                layers.Add(l);
            }
            a["layers"] = layers;
        }), expected, maxAllocation: 256L << 20);
    }

    [Test]
    public void SequentialAddIsLinear()
    {
        var layers = Enumerable.Range(0, 100_000).Select(_ => new Dense(1)).ToList();
        var clock = Stopwatch.StartNew();
        var m = new Sequential(layers);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "100,000 layers added (quadratic: 77 s)");
        Assert.That(m.Layers[^1].Name, Is.EqualTo("dense_99999"));
        Assert.Throws<ArgumentException>(() => m.Add(new Dense(1, name: "dense_5")));
    }

    [Test]
    public void AddWeightRefusesAbsurdSizesWithAClearMessage()
    {
        var m = new Sequential(new Dense(2147483647, inputShape: [4]));
        var e = Assert.Throws<ArgumentException>(() => m.Build())!;
        Assert.That(e.Message, Does.Contain("weight 'kernel' of shape [4, 2147483647]").And.Contain("more than"));
    }

    [Test]
    public void SparseFileClaiming2GBOfTrailingData_Cost2GBBeforeRefusal()
    {
        string path = Path.Combine(_dir, "sparse.rnnx");
        File.WriteAllBytes(path, _lstm);
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) fs.SetLength(2L << 30);
        try
        {
            Refused(() => ModelIO.Load(path), "trailing bytes belong to no tensor");
            Refused(() => ModelIO.Inspect(path), "trailing bytes belong to no tensor");
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ------------------------------------------------------------------ the error contract

    [Test]
    public void LoneSurrogateInACompileKey_LeakedInvalidOperationExceptionFromRestore()
    {
        var bytes = Edit(_lstm, f => f.Metadata["rnnx.compile"] = f.Metadata["rnnx.compile"].Replace("\"loss\"", "\"\\ud800loss\""));
        AllRefuse(bytes, "not valid", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);
    }

    [Test]
    public void DuplicateCompileKey_LeakedArgumentExceptionFromRestore()
    {
        var bytes = Edit(_lstm, f => f.Metadata["rnnx.compile"] = f.Metadata["rnnx.compile"].Replace("\"loss\":", "\"optimizer_state\":1,\"loss\":"));
        AllRefuse(bytes, "Duplicate property", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);
    }

    [Test]
    public void ADirectoryOrAMissingFileIsAFormatErrorAtEveryEntryPoint()
    {
        var m = new Sequential(new Dense(1, inputShape: [2]));
        m.Build();
        foreach (string path in new[] { _dir, Path.Combine(_dir, "no-such-file.rnnx") })
        {
            Assert.Throws<ModelFormatException>(() => ModelIO.Load(path));
            Assert.Throws<ModelFormatException>(() => ModelIO.LoadCheckpoint(path));
            Assert.Throws<ModelFormatException>(() => ModelIO.Inspect(path));
            Assert.Throws<ModelFormatException>(() => ModelIO.LoadWeights(m, path));
            Assert.Throws<ModelFormatException>(() => ModelIO.RestoreCheckpoint(m, path));
        }
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Load(_dir))!.Message, Does.Contain("is a directory"));
    }

    // ------------------------------------------------------------------ nothing accepted silently

    [TestCase(float.NaN, TestName = "NaNWeight_PredictReturnedNaN")]
    [TestCase(float.PositiveInfinity, TestName = "InfiniteWeight_Refused")]
    [TestCase(3e38f, TestName = "HugeWeight_Refused")]
    public void NonFiniteWeightsAreRefusedUnlessAllowed(float value)
    {
        var bytes = Edit(_lstm, f => BitConverter.TryWriteBytes(f.Tensors.First(t => t.Name == "lstm/kernel").Data.AsSpan(4), value));
        AllRefuse(bytes, "'lstm/kernel' holds", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)));
        var loaded = ModelIO.LoadFromBytes(bytes, "debug.rnnx", options: new ModelLoadOptions { AllowNonFiniteValues = true });
        Assert.That(loaded.NamedWeights()[0].Parameter.Value.ToDoubleArray()[1], Is.EqualTo((double)value));
    }

    [Test]
    public void Momentum3e38_FitReturnedWith48NonFiniteWeights()
    {
        var bytes = Edit(_lstm, f =>
        {
            var slot = f.Tensors.First(t => t.Name == "__optimizer__/lstm/kernel/momentum");
            var data = new byte[slot.Data.Length];
            for (int i = 0; i < data.Length; i += 4) BitConverter.TryWriteBytes(data.AsSpan(i), 3e38f);
            slot.Data = data;
        });
        AllRefuse(bytes, "optimizer slot '__optimizer__/lstm/kernel/momentum' holds", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);
    }

    [TestCase(long.MaxValue, TestName = "Iterations2pow63minus1_FirstResumedStepWasNaN")]
    [TestCase(-1L, TestName = "NegativeIterations_Refused")]
    public void IterationsOutsideTheRangeAreRefused(long iterations) =>
        AllRefuse(EditJson(_lstm, "rnnx.compile", c => c["optimizer_state"]!["iterations"] = iterations), "iterations is",
            () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);

    [TestCase("null", TestName = "OptimizerStateNull_WasDroppedSilently")]
    [TestCase("[]", TestName = "OptimizerStateEmptyArray_WasDroppedSilently")]
    [TestCase("\"x\"", TestName = "OptimizerStateString_WasDroppedSilently")]
    public void OptimizerStateThatIsNotAnObjectIsRefused(string value) =>
        AllRefuse(EditJson(_lstm, "rnnx.compile", c => c["optimizer_state"] = JsonNode.Parse(value)), "'optimizer_state' is", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);

    [Test]
    public void NegativeNadamUProduct_WasAcceptedSilently()
    {
        var bytes = EditJson(_nadam, "rnnx.compile", c => c["optimizer_state"]!["scalars"]!["u_product_float32"] = -0.5);
        string path = Path.Combine(_dir, "nadam.rnnx");
        File.WriteAllBytes(path, bytes);
        Refused(() => ModelIO.Load(path), "u_product_float32 = -0.5");
        var m = new Sequential(new SimpleRNN(3, inputShape: [null, 1]), new Dense(1));
        m.Compile(new Nadam(), Losses.Loss.MeanSquaredError);
        m.Build();
        var before = TestModels.Snapshot(m);
        Refused(() => ModelIO.RestoreCheckpoint(m, path), "u_product_float32 = -0.5");
        TestModels.AssertSame(TestModels.Snapshot(m), before, "weights after a refused restore");
    }

    [TestCase("rnnx.format", "x", "'rnnx.format' is 'x'", TestName = "UnknownFormat_WasUnchecked")]
    [TestCase("rnnx.version", "2", "written by a newer Rnnx (format version 2)", TestName = "NewerVersion_SaysSo")]
    [TestCase("rnnx.version", "one", "not a positive integer", TestName = "VersionNotANumber_Refused")]
    public void FormatAndVersionAreChecked(string key, string value, string expected) =>
        AllRefuse(Edit(_lstm, f => f.Metadata[key] = value), expected, () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)));

    [TestCase("[]", TestName = "ShuffleRngArray_WasIgnored")]
    [TestCase("7", TestName = "ShuffleRngNumber_WasIgnored")]
    public void ShuffleStateThatIsNotAnObjectIsRefused(string value) =>
        AllRefuse(EditJson(_lstm, "rnnx.training", t => t["shuffle_rng"] = JsonNode.Parse(value)), "shuffle_rng is",
            () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)));

    [Test]
    public void OptimizerTensorsWithoutOptimizerStateAreRefused() =>
        AllRefuse(EditJson(_lstm, "rnnx.compile", c => c.Remove("optimizer_state")), "optimizer tensors", () => new Sequential(new LSTM(8, inputShape: [null, 2]), new Dense(1)), inCompileSettings: true);

    // ------------------------------------------------------------------ configurable limits

    [Test]
    public void LimitsAreConfigurable()
    {
        string path = Path.Combine(_dir, "limits.rnnx");
        File.WriteAllBytes(path, _lstm);
        Assert.DoesNotThrow(() => ModelIO.Load(path));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Load(path, options: new ModelLoadOptions { MaxLayers = 1 }))!.Message, Does.Contain("MaxLayers"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Load(path, options: new ModelLoadOptions { MaxParameters = 100 }))!.Message, Does.Contain("MaxParameters"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Load(path, options: new ModelLoadOptions { MaxNameLength = 3 }))!.Message, Does.Contain("MaxNameLength"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Load(path, options: new ModelLoadOptions { MaxJsonDepth = 2 }))!.Message, Does.Contain("nesting limit 2"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelIO.Inspect(path, new ModelLoadOptions { MaxMetadataBytes = 100 }))!.Message, Does.Contain("MaxMetadataBytes"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelIO.Load(path, options: new ModelLoadOptions { MaxLayers = 0 }));
    }

    [Test]
    public void DeepNestingIsRefused() =>
        AllRefuse(Edit(_lstm, f => f.Metadata["rnnx.architecture"] = f.Metadata["rnnx.architecture"].Replace("\"sequential\"", new string('[', 100) + new string(']', 100))), "nesting limit 64");

    [Test]
    public void LongLayerNamesAreRefused() =>
        AllRefuse(EditJson(_lstm, "rnnx.architecture", a => a["layers"]![0]!["name"] = new string('n', 100_000)), "MaxNameLength");
}
