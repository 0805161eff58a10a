using System.Globalization;
using System.Text.Json;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Saving;

namespace Rnnx.Tests.Cli;

/// <summary>
/// <c>--transform log|box-cox</c> through the command line: saved in the model metadata, used by forecast and
/// evaluate, and refused with the row named when a value is not positive.
/// </summary>
[TestFixture]
public sealed class TransformCommandTests
{
    private CliTestKit _kit = null!;
    private string _csv = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _kit = new CliTestKit();
        _csv = _kit.Csv("mult.csv", 200, i => (100 * Math.Exp(0.01 * i) * (1 + 0.2 * Math.Sin(2 * Math.PI * i / 12))).ToString("R", CultureInfo.InvariantCulture));
    }

    [OneTimeTearDown]
    public void TearDown() => _kit.Dispose();

    /// <summary>rnnx train on the multiplicative series, window 24, horizon 3.</summary>
    private (int Code, string Out, string Err) Train(string arch, params string[] extra) =>
        CliTestKit.Run(["train", "--csv", _csv, "--column", "value", "--arch", arch, "--window", "24", "--horizon", "3", .. extra]);

    [Test]
    public void LogTransformIsSavedAndUsedByForecastAndEvaluate()
    {
        string model = _kit.P("log.rnnx"), json = _kit.P("log.json");
        var r = Train("linear", "--epochs", "3", "--transform", "log", "--save", model);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("log transform, last_value scaling"));
        var meta = ModelIO.Inspect(model).Metadata;
        Assert.That(meta["cli.transform"], Is.EqualTo("log"));
        Assert.That(meta.ContainsKey("cli.box_cox_lambda"), Is.False);

        r = CliTestKit.Run("forecast", "--model", model, "--csv", _csv, "--json", json);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var forecast = doc.RootElement.GetProperty("forecast").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        // By hand: log of the last window, last-value scaling, predict, inverse scaling, exp.
        var values = SeriesCsv.Read(_csv, "value").Values;
        var scaler = new SeriesScaler(SeriesScaling.LastValue, 0, double.Parse(meta["cli.std"], CultureInfo.InvariantCulture));
        var history = values[^24..].Select(v => (float)Math.Log(v)).ToArray();
        var x = new float[24];
        scaler.Transform(history, x, []);
        var y = ModelIO.Load(model).Predict(Tensor.FromArray(x, 1, 24, 1)).ToFloatArray();
        var byHand = new float[3];
        scaler.Inverse(history, y, byHand);
        Assert.That(forecast, Is.EqualTo(byHand.Select(v => (float)Math.Exp(v)).ToArray()));

        r = CliTestKit.Run("evaluate", "--model", model, "--csv", _csv);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("log transform, last_value scaling"));
        var data = ForecastData.Prepare(values, new ForecastSetup(24, 3, Season: 12, Transform: SeriesTransformKind.Log), scaler);
        var c = data.Evaluate(ModelIO.Load(model));
        Assert.That(r.Out, Does.Contain(string.Create(CultureInfo.InvariantCulture, $"  model                {c.Model.Mse,12:G6}")));
    }

    [Test]
    public void BoxCoxLambdaIsEstimatedOrGivenAndSaved()
    {
        string estimated = _kit.P("bc.rnnx"), given = _kit.P("bc-given.rnnx");
        var r = Train("linear", "--epochs", "2", "--transform", "box-cox", "--save", estimated);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        var values = SeriesCsv.Read(_csv, "value").Values;
        var split = Windowing.SplitPoints(values.Length, 0.2, 0.2);
        double lambda = SeriesTransform.EstimateBoxCox(values.AsSpan(0, split.TrainEnd)).Lambda;
        var meta = ModelIO.Inspect(estimated).Metadata;
        Assert.That((meta["cli.transform"], meta["cli.box_cox_lambda"]), Is.EqualTo(("box-cox", lambda.ToString("R", CultureInfo.InvariantCulture))));
        Assert.That(r.Out, Does.Contain("box-cox (lambda "));

        r = Train("linear", "--epochs", "2", "--transform", "box-cox", "--box-cox-lambda", "0.5", "--save", given);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(ModelIO.Inspect(given).Metadata["cli.box_cox_lambda"], Is.EqualTo("0.5"));
        r = CliTestKit.Run("forecast", "--model", given, "--csv", _csv);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
    }

    [TestCase("difference", "log")]
    [TestCase("window_mean", "none")]
    [TestCase("last_value", "box-cox")]
    public void ExportedGraphMapsRawWindowsToTheForecastOfRnnxForecast(string scaling, string transform)
    {
        string model = _kit.P($"exp-{scaling}-{transform}.rnnx"), onnx = _kit.P($"exp-{scaling}-{transform}.onnx"), json = _kit.P($"exp-{scaling}-{transform}.json");
        var r = Train("gru", "--epochs", "2", "--scaling", scaling, "--transform", transform, "--save", model);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        r = CliTestKit.Run("export", "--model", model, "--onnx", onnx);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        Assert.That(r.Out, Does.Contain("raw values in and out").And.Contain($"{scaling} scaling"));
        int steps = scaling == "difference" ? 25 : 24;
        if (scaling == "difference") Assert.That(r.Out, Does.Contain("the window holds one value more"));

        r = CliTestKit.Run("forecast", "--model", model, "--csv", _csv, "--json", json);
        Assert.That((r.Code, r.Err), Is.EqualTo((0, "")), r.Out);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var forecast = doc.RootElement.GetProperty("forecast").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var values = SeriesCsv.Read(_csv, "value").Values;
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input",
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values[^steps..], [1, steps, 1]))]);
        var y = results.Single().AsTensor<float>().ToArray();
        for (int i = 0; i < 3; i++) Assert.That(y[i], Is.EqualTo(forecast[i]).Within(1e-6 * Math.Abs(forecast[i])), $"step {i + 1}");
    }

    [Test]
    public void BadTransformInputsAreOneLineRefusalsThatTouchNoFile()
    {
        string bad = _kit.Csv("zero.csv", 200, i => i == 57 ? "0" : (10 + i % 12).ToString(CultureInfo.InvariantCulture));
        string save = _kit.P("never.rnnx");
        var before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", bad, "--column", "value", "--window", "24", "--horizon", "3", "--transform", "log", "--save", save),
            "zero.csv: row 59, column 'value': 0 is not positive; the log transform needs positive values", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", bad, "--column", "value", "--transform", "box-cox", "--save", save),
            "row 59, column 'value': 0 is not positive; the box-cox transform needs positive values", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--transform", "sqrt", "--save", save),
            "option '--transform' must be one of none, log, box-cox, got 'sqrt'", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--box-cox-lambda", "0.5", "--save", save),
            "--box-cox-lambda is for --transform box-cox, not none", before);
        _kit.AssertRefused(CliTestKit.Run("train", "--csv", _csv, "--column", "value", "--transform", "box-cox", "--box-cox-lambda", "3", "--save", save),
            "option '--box-cox-lambda' must be between -1 and 2, got 3", before);

        // A log model forecasting a series with a non-positive value in its last window.
        string model = _kit.P("log-ok.rnnx");
        Assert.That(Train("linear", "--epochs", "1", "--transform", "log", "--save", model).Code, Is.EqualTo(0));
        string negative = _kit.Csv("neg.csv", 60, i => i == 50 ? "-4" : "100");
        string json = _kit.P("f.json");
        before = _kit.Snapshot();
        _kit.AssertRefused(CliTestKit.Run("forecast", "--model", model, "--csv", negative, "--json", json),
            "neg.csv: row 52, column 'value': -4 is not positive; the log transform needs positive values", before);
        _kit.AssertRefused(CliTestKit.Run("evaluate", "--model", model, "--csv", negative, "--json", json),
            "neg.csv: row 52, column 'value': -4 is not positive", before);
    }
}
