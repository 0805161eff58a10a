using System.Globalization;
using System.Text.Json;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Saving;

namespace Rnnx.Tests.Cli;

/// <summary>
/// Honest evaluation through the command line: train reports the test part beside the baselines, evaluate repeats it
/// (text and JSON) with the training split and scaling, forecast uses the saved per-window scaling, and bad inputs
/// are one-line refusals that leave every file untouched.
/// </summary>
[TestFixture]
public sealed class EvaluateCommandTests
{
    private CliTestKit _kit = null!;
    private string _trend = "", _model = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _kit = new CliTestKit();
        // A trend with a season: the test part runs far above the training range.
        _trend = _kit.Csv("trend.csv", 300, i => (50 + 0.5 * i + 5 * Math.Sin(2 * Math.PI * i / 12)).ToString("R", CultureInfo.InvariantCulture));
        _model = _kit.P("gru.rnnx");
        var r = CliTestKit.Run("train", "--csv", _trend, "--column", "value", "--window", "24", "--horizon", "3", "--epochs", "3", "--save", _model);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        TrainOutput = r.Out;
    }

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    private string TrainOutput { get; set; } = "";

    [Test]
    public void TrainReportsTheTestPartBesideTheBaselines()
    {
        Assert.That(TrainOutput, Does.Contain("Training gru on column 'value'").And.Contain("last_value scaling"));
        Assert.That(TrainOutput, Does.Contain("Test errors in 'value' units").And.Contain("naive").And.Contain("seasonal naive (12)"));
        var meta = ModelIO.Inspect(_model).Metadata;
        Assert.That((meta["cli.scaling"], meta["cli.test"], meta["cli.season"]), Is.EqualTo(("last_value", "0.2", "12")));
    }

    [Test]
    public void EvaluateRepeatsTheTrainingReportAndWritesJson()
    {
        string json = _kit.P("eval.json");
        var r = CliTestKit.Run("evaluate", "--model", _model, "--csv", _trend, "--json", json);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("Test part of column 'value' of trend.csv: values 241..300"));
        string report = r.Out[r.Out.IndexOf("Test errors", StringComparison.Ordinal)..r.Out.IndexOf("Wrote", StringComparison.Ordinal)];
        Assert.That(TrainOutput, Does.Contain(report.TrimEnd()), "evaluate gives the report train printed, to the digit");

        // The same numbers through the library.
        var values = SeriesCsv.Read(_trend, "value").Values;
        var meta = ModelIO.Inspect(_model).Metadata;
        var scaler = new SeriesScaler(SeriesScaling.LastValue, 0, double.Parse(meta["cli.std"], CultureInfo.InvariantCulture));
        var data = ForecastData.Prepare(values, new ForecastSetup(24, 3, SeriesScaling.LastValue, 0.2, 0.2, 12), scaler);
        var c = data.Evaluate(ModelIO.Load(_model));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("model_errors").GetProperty("mse").GetDouble(), Is.EqualTo(c.Model.Mse));
        Assert.That(root.GetProperty("naive").GetProperty("mae").GetDouble(), Is.EqualTo(c.Naive.Mae));
        Assert.That(root.GetProperty("seasonal_naive").GetProperty("mase").GetDouble(), Is.EqualTo(c.SeasonalNaive.Mase));
        Assert.That(root.GetProperty("test_windows").GetInt32(), Is.EqualTo(60 - 3 + 1));
        Assert.That(root.GetProperty("loses_to_a_baseline").GetBoolean(), Is.EqualTo(c.LosesToABaseline));
        Assert.That(root.GetProperty("verdict").GetString(), Is.EqualTo(c.Verdict()));
    }

    [Test]
    public void ALosingModelIsCalledOut()
    {
        // Standard scaling on the trend: the test part lies above anything seen in training.
        string model = _kit.P("std.rnnx");
        var r = CliTestKit.Run("train", "--csv", _trend, "--column", "value", "--window", "24", "--horizon", "3", "--epochs", "2",
            "--scaling", "standard", "--save", model);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(r.Out, Does.Contain("WARNING: the model loses to the naive baseline"));
        r = CliTestKit.Run("evaluate", "--model", model, "--csv", _trend);
        Assert.That(r.Out, Does.Contain("WARNING: the model loses to the naive baseline"));
    }

    [Test]
    public void ForecastUsesTheSavedPerWindowScaling()
    {
        string json = _kit.P("f.json");
        var r = CliTestKit.Run("forecast", "--model", _model, "--csv", _trend, "--json", json);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var forecast = doc.RootElement.GetProperty("forecast").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var values = SeriesCsv.Read(_trend, "value").Values;
        var meta = ModelIO.Inspect(_model).Metadata;
        var scaler = new SeriesScaler(SeriesScaling.LastValue, 0, double.Parse(meta["cli.std"], CultureInfo.InvariantCulture));
        var x = new float[24];
        scaler.Transform(values.AsSpan(276), x, []);
        var output = ModelIO.Load(_model).Predict(Tensor.FromArray(x, 1, 24, 1)).ToFloatArray();
        var byHand = new float[3];
        scaler.Inverse(values.AsSpan(276), output, byHand);
        Assert.That(forecast, Is.EqualTo(byHand));
    }

    [Test]
    public void BadInputsAreOneLineRefusals()
    {
        var before = _kit.Snapshot();
        var r = CliTestKit.Run("evaluate", "--model", _kit.P("missing.rnnx"), "--csv", _trend);
        _kit.AssertRefused(r, "missing.rnnx", before, exitCode: r.Code);
        r = CliTestKit.Run("evaluate", "--model", _model, "--csv", _trend, "--json", _trend);
        _kit.AssertRefused(r, "--json", before, exitCode: r.Code);
        r = CliTestKit.Run("evaluate", "--model", _model, "--csv", _trend, "--column", "nope");
        _kit.AssertRefused(r, "no column 'nope'", before, exitCode: r.Code);
        r = CliTestKit.Run("evaluate", "--model", _model, "--csv", _kit.Csv("short.csv", 20));
        before = _kit.Snapshot();
        Assert.That(r.Err, Does.Contain("short.csv: column 'value': The series has 20 values"));
        r = CliTestKit.Run("evaluate", "--model", _model, "--csv", _trend, "--season", "0");
        _kit.AssertRefused(r, "--season", before, exitCode: r.Code);
        r = CliTestKit.Run("train", "--csv", _trend, "--column", "value", "--save", _kit.P("x.rnnx"), "--scaling", "minmax");
        _kit.AssertRefused(r, "--scaling", before, exitCode: r.Code);
        r = CliTestKit.Run("train", "--csv", _trend, "--column", "value", "--save", _kit.P("x.rnnx"), "--validation", "0.5", "--test", "0.45");
        _kit.AssertRefused(r, "--validation 0.5 and --test 0.45 leave 5% of the series for training", before, exitCode: r.Code);
        // A per-window-scaled model exports with its scaling in the graph (OnnxSeriesScalingTests check the numbers).
        r = CliTestKit.Run("export", "--model", _model, "--onnx", _kit.P("m.onnx"));
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("the graph applies the last_value scaling of training"));
    }
}
