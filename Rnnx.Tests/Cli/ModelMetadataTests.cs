using System.Globalization;
using System.Text.Json;
using Rnnx.Saving;

namespace Rnnx.Tests.Cli;

/// <summary>
/// Models carry what they need: every file 'rnnx train' writes (final model and checkpoints) holds the window,
/// horizon, scaling, column and a series fingerprint; forecast and export use them; --resume continues bit-exactly;
/// metadata read from a file is validated like any input.
/// </summary>
[TestFixture]
public sealed class ModelMetadataTests
{
    private CliTestKit _kit = null!;
    private string _csv = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _kit = new CliTestKit();
        _csv = _kit.Csv("s.csv", 120);
    }

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    private (int Code, string Out, string Err) Train(string arch, int epochs, string save, params string[] extra) =>
        CliTestKit.Run(["train", "--csv", _csv, "--column", "value", "--arch", arch, "--window", "12", "--horizon", "3",
            "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--save", save, .. extra]);

    private static double[] Forecast(string model, string csv, string json)
    {
        var r = CliTestKit.Run("forecast", "--model", model, "--csv", csv, "--json", json);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        return doc.RootElement.GetProperty("forecast").EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }

    [Test]
    public void Checkpoints_CarryTheMetadata_ForecastAndExportUseIt()
    {
        string model = _kit.P("lin.rnnx"), pattern = _kit.P("ck/lin-{epoch:02d}.rnnx");
        var r = Train("linear", 2, model, "--checkpoint", pattern, "--scaling", "standard");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        string ck = _kit.P("ck/lin-02.rnnx");
        var saved = ModelIO.Inspect(model).Metadata;
        var inCheckpoint = ModelIO.Inspect(ck).Metadata;
        foreach (var key in new[] { "cli.window", "cli.horizon", "cli.mean", "cli.std", "cli.column", "cli.scaling", "cli.series.sha256", "cli.series.count" })
            Assert.That(inCheckpoint[key], Is.EqualTo(saved[key]), key);

        // The last checkpoint is the final model: the same forecast, in the column's units (not standardized).
        var fromModel = Forecast(model, _csv, _kit.P("f1.json"));
        var fromCheckpoint = Forecast(ck, _csv, _kit.P("f2.json"));
        Assert.That(fromCheckpoint, Is.EqualTo(fromModel));
        Assert.That(fromModel.All(v => v is > 80 and < 120), "values in the series' units: " + string.Join(", ", fromModel));

        r = CliTestKit.Run("export", "--model", ck, "--onnx", _kit.P("ck.onnx"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")));
        Assert.That(r.Out, Does.Contain("raw values in and out"));
    }

    [TestCase("lstm")]
    [TestCase("linear")]
    public void Resume_TwoPlusTwoEpochs_EqualsFourStraight(string arch)
    {
        string straight = _kit.P($"straight-{arch}.rnnx"), half = _kit.P($"half-{arch}.rnnx"), resumed = _kit.P($"resumed-{arch}.rnnx");
        Assert.That(Train(arch, 4, straight).Code, Is.EqualTo(0));
        Assert.That(Train(arch, 2, half, "--checkpoint", _kit.P($"rk-{arch}-{{epoch}}.rnnx"), "--log", _kit.P($"log-{arch}.csv")).Code, Is.EqualTo(0));
        var r = CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P($"rk-{arch}-2.rnnx"), "--epochs", "4", "--save", resumed, "--log", _kit.P($"log-{arch}.csv"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("resuming after epoch 2"));
        var a = ModelIO.Load(straight).NamedWeights();
        var b = ModelIO.Load(resumed).NamedWeights();
        Assert.That(b.Select(w => w.Name), Is.EqualTo(a.Select(w => w.Name)));
        for (int i = 0; i < a.Count; i++)
            Assert.That(b[i].Parameter.Value.ToFloatArray(), Is.EqualTo(a[i].Parameter.Value.ToFloatArray()), a[i].Name);
        Assert.That(ModelIO.Inspect(resumed).Epoch, Is.EqualTo(4));
        Assert.That(File.ReadAllLines(_kit.P($"log-{arch}.csv")), Has.Length.EqualTo(5), "the log continues: a header and four epochs");
    }

    [Test]
    public void Resume_WithEarlyStopping_StopsWhereAnUninterruptedRunStops()
    {
        // The checkpoint carries EarlyStopping's wait, best value and best weights: patience does not restart.
        string straight = _kit.P("es-straight.rnnx"), resumed = _kit.P("es-resumed.rnnx");
        var r = Train("gru", 60, straight, "--learning-rate", "0.05", "--patience", "2");
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("stopped by a callback"), "the test needs a run that stops early");
        int stopped = ModelIO.Inspect(straight).Epoch!.Value;
        Assert.That(stopped, Is.GreaterThanOrEqualTo(3));
        Assert.That(ModelIO.Inspect(straight).Metadata["cli.patience"], Is.EqualTo("2"));

        r = Train("gru", stopped - 1, _kit.P("es-half.rnnx"), "--learning-rate", "0.05", "--patience", "2", "--checkpoint", _kit.P("es-ck-{epoch}.rnnx"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(ModelIO.Inspect(_kit.P($"es-ck-{stopped - 1}.rnnx")).Metadata, Does.ContainKey("rnnx.callback.early_stopping"));
        r = CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P($"es-ck-{stopped - 1}.rnnx"), "--epochs", "60", "--save", resumed);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain($"{stopped} epochs, stopped by a callback"));
        var a = ModelIO.Load(straight).NamedWeights();
        var b = ModelIO.Load(resumed).NamedWeights();
        for (int i = 0; i < a.Count; i++)
            Assert.That(b[i].Parameter.Value.ToFloatArray(), Is.EqualTo(a[i].Parameter.Value.ToFloatArray()), a[i].Name);

        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P($"es-ck-{stopped - 1}.rnnx"), "--epochs", "60", "--patience", "5", "--save", _kit.P("x.rnnx")),
            "--patience 5 differs from the checkpoint's 2", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P($"es-ck-{stopped - 1}.rnnx"), "--epochs", "60", "--no-early-stopping", "--save", _kit.P("x.rnnx")),
            "--no-early-stopping: the checkpoint was trained with early stopping; leave it out when resuming", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--patience", "3", "--no-early-stopping", "--save", _kit.P("x.rnnx")),
            "--patience and --no-early-stopping contradict each other", before);
    }

    [Test]
    public void EarlyStoppingOfAModelTooLargeToKeepItsBestWeightsIsRefusedBeforeTraining()
    {
        string big = _kit.Csv("long.csv", 5200);
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", big, "--column", "value", "--arch", "linear", "--window", "2000", "--horizon", "1000", "--save", _kit.P("big.rnnx")),
            "the model has 2001000 parameters: too many to keep early stopping's best weights in its files; pass --no-early-stopping", before);
    }

    [Test]
    public void Resume_RefusesConflictsAndNonCheckpoints()
    {
        string ck = _kit.P("rc-{epoch}.rnnx");
        Assert.That(Train("linear", 1, _kit.P("rc.rnnx"), "--checkpoint", ck).Code, Is.EqualTo(0));
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P("rc-1.rnnx"), "--window", "20", "--epochs", "3", "--save", _kit.P("r2.rnnx")),
            "--window 20 differs from the checkpoint's 12", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P("rc-1.rnnx"), "--epochs", "1", "--save", _kit.P("r2.rnnx")),
            "has already completed 1 epoch(s)", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P("rc.rnnx.missing"), "--epochs", "3", "--save", _kit.P("r2.rnnx")),
            "no such file", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--resume", _kit.P("rc-1.rnnx"), "--epochs", "3", "--save", _kit.P("rc-1.rnnx")),
            "is the same file as the input --resume", before);

        // Another series: allowed (fine-tuning), with a warning that it is not a continuation.
        string other = _kit.Csv("other-series.csv", 120, seed: 9);
        var r = CliTestKit.Run("train", "--csv", other, "--resume", _kit.P("rc-1.rnnx"), "--epochs", "2", "--save", _kit.P("r3.rnnx"));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(r.Err, Does.StartWith("rnnx: warning: the series differs from the one the checkpoint was trained on"));
    }

    [Test]
    public void ASeriesUnlikeTheTrainingOne_GivesAWarning()
    {
        string model = _kit.P("w.rnnx");
        Assert.That(Train("linear", 1, model).Code, Is.EqualTo(0));
        string other = _kit.Csv("other.csv", 60, i => (5000 + i).ToString(CultureInfo.InvariantCulture));
        var r = CliTestKit.Run("forecast", "--model", model, "--csv", other);
        Assert.That(r.Code, Is.EqualTo(0));
        Assert.That(r.Err, Does.StartWith("rnnx: warning: column 'value' of other.csv looks unlike the series the model was trained on"));
        r = CliTestKit.Run("forecast", "--model", model, "--csv", _csv);
        Assert.That(r.Err, Is.Empty, "the training series itself gives no warning");
    }

    [TestCase("cli.std", "Infinity", "is not a finite positive number")]
    [TestCase("cli.std", "0", "is not a finite positive number")]
    [TestCase("cli.std", "NaN", "is not a finite positive number")]
    [TestCase("cli.mean", "1e999", "is not a finite number")]
    [TestCase("cli.window", "0", "is not an integer in [1, 100000]")]
    [TestCase("cli.window", "-5", "is not an integer in [1, 100000]")]
    [TestCase("cli.window", "five", "is not an integer in [1, 100000]")]
    [TestCase("cli.window", "5\0", "is not an integer in [1, 100000]")]
    [TestCase("cli.window", "2147483647", "is not an integer in [1, 100000]")]
    [TestCase("cli.horizon", "x", "is not an integer")]
    [TestCase("cli.scaling", "minmax", "is not a scaling this version knows")]
    [TestCase("cli.frequency", "months:-1", "is not months:N[:end] or ticks:N")]
    [TestCase("cli.transform", "sqrt", "is not a transform this version knows (none, log, box-cox)")]
    [TestCase("cli.box_cox_lambda", "0.5", "is set but the transform is none")]
    [TestCase("cli.early_stopping", "maybe", "is not true or false")]
    [TestCase("cli.patience", "-1", "is not an integer in [0, 1000000]")]
    public void BadMetadata_IsAOneLineErrorForForecastAndExport(string key, string value, string expected)
    {
        string good = _kit.P("meta-good.rnnx");
        if (!File.Exists(good)) Assert.That(Train("linear", 1, good).Code, Is.EqualTo(0));
        string bad = _kit.P($"meta-bad-{key}-{Math.Abs(value.GetHashCode())}.rnnx");
        var checkpoint = ModelIO.LoadCheckpoint(good);
        var meta = checkpoint.Metadata.ToDictionary();
        meta[key] = value;
        ModelIO.Save(checkpoint.Model, bad, new SaveOptions { Metadata = meta });
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("forecast", "--model", bad, "--csv", _csv, "--json", _kit.P("bad.json")), $"model metadata '{key}'", before);
        _kit.AssertRefused(CliTestKit.Run("export", "--model", bad, "--onnx", _kit.P("bad.onnx")), expected, before);
    }
}
