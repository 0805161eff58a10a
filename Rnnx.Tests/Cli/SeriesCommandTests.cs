using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnnx.Saving;

namespace Rnnx.Tests.Cli;

/// <summary>rnnx train / forecast / export on small CSV files made by the test.</summary>
[TestFixture]
public sealed class SeriesCommandTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "rnnx-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Rnnx.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string Csv(string name, int rows, Func<int, string>? valueAt = null)
    {
        var rng = new System.Random(5);
        var lines = new List<string> { "date,value,other" };
        for (int i = 0; i < rows; i++)
        {
            string v = valueAt?.Invoke(i) ?? (100 + 10 * Math.Sin(i * 0.3) + rng.NextDouble()).ToString("R", CultureInfo.InvariantCulture);
            lines.Add($"2024-01-{i:D4},{v},{i % 7}");
        }
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private string P(string name) => Path.Combine(_dir, name);

    [TestCase("linear")]
    [TestCase("simple_rnn")]
    [TestCase("lstm")]
    [TestCase("gru")]
    [TestCase("conv_rnn")]
    [TestCase("wavenet")]
    public void TrainForecastExport(string arch)
    {
        string csv = Csv($"series_{arch}.csv", 120);
        string model = P($"{arch}.rnnx"), plot = P($"{arch}.png"), json = P($"{arch}.json"), onnx = P($"{arch}.onnx"), log = P($"{arch}.csv");
        var (code, stdout, stderr) = Run("train", "--csv", csv, "--column", "value", "--arch", arch, "--window", "16", "--horizon", "4",
            "--epochs", "2", "--save", model, "--log", log, "--scaling", "standard");
        Assert.That((code, stderr), Is.EqualTo((0, "")), stdout);
        Assert.That(stdout, Does.Contain($"Training {arch} on column 'value'").And.Contain("Saved"));
        Assert.That(File.ReadAllLines(log), Has.Length.EqualTo(3));
        var info = ModelIO.Inspect(model);
        Assert.That(info.Epoch, Is.EqualTo(2));
        Assert.That(info.Metadata["cli.window"], Is.EqualTo("16"));

        (code, stdout, stderr) = Run("forecast", "--model", model, "--csv", csv, "--plot", plot, "--json", json);
        Assert.That((code, stderr), Is.EqualTo((0, "")), stdout);
        Assert.That(stdout, Does.Contain("t+4:"));
        Assert.That(File.ReadAllBytes(plot).Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var forecast = doc.RootElement.GetProperty("forecast").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.That(forecast, Has.Length.EqualTo(4));
        Assert.That(doc.RootElement.GetProperty("rows").GetInt32(), Is.EqualTo(120));

        // The same forecast by hand: standardize the last window, predict, unstandardize.
        var m = ModelIO.Load(model);
        double mean = double.Parse(info.Metadata["cli.mean"], CultureInfo.InvariantCulture), std = double.Parse(info.Metadata["cli.std"], CultureInfo.InvariantCulture);
        var values = File.ReadAllLines(csv).Skip(1).Select(l => float.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var last = values[^16..];
        var byHand = m.Predict(Tensor.FromArray(last.Select(v => (float)((v - mean) / std)).ToArray(), 1, 16, 1)).ToFloatArray().Select(v => (float)(v * std + mean)).ToArray();
        Assert.That(forecast.Select(v => (float)v), Is.EqualTo(byHand));

        // The exported graph takes raw values and returns raw forecasts.
        (code, stdout, stderr) = Run("export", "--model", model, "--onnx", onnx);
        Assert.That((code, stderr), Is.EqualTo((0, "")), stdout);
        Assert.That(stdout, Does.Contain("raw values in and out"));
        using var session = new InferenceSession(onnx);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(last, [1, 16, 1]))]);
        var y = results.Single().AsTensor<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.That(y[i], Is.EqualTo(byHand[i]).Within(1e-4 * Math.Max(1, Math.Abs(byHand[i]))));
    }

    private static void AssertOneLineError(int code, string stderr, string expected)
    {
        Assert.That(code, Is.Not.EqualTo(0));
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("rnnx: error: ").And.Contain(expected));
        Assert.That(stderr, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
    }

    [Test]
    public void BadCsvFilesAreOneLineErrorsNamingRowAndColumn()
    {
        string good = Csv("good.csv", 60);
        var (code, _, err) = Run("train", "--csv", good, "--column", "sales", "--save", P("x.rnnx"), "--window", "10", "--horizon", "2");
        AssertOneLineError(code, err, "good.csv: no column 'sales' in the header (--column; columns: date, value, other)");

        string bad = Csv("bad.csv", 60, i => i == 5 ? "abc" : "1.5");
        (code, _, err) = Run("train", "--csv", bad, "--column", "value", "--save", P("x.rnnx"), "--window", "10", "--horizon", "2");
        AssertOneLineError(code, err, "bad.csv: row 7, column 'value': 'abc' is not a number");

        string empty = Csv("emptycell.csv", 60, i => i == 9 ? "" : "2");
        (code, _, err) = Run("train", "--csv", empty, "--column", "value", "--save", P("x.rnnx"), "--window", "10", "--horizon", "2");
        AssertOneLineError(code, err, "row 11, column 'value': the cell is empty");

        string inf = Csv("inf.csv", 60, i => i == 2 ? "1e999" : "2");
        (code, _, err) = Run("train", "--csv", inf, "--column", "value", "--save", P("x.rnnx"), "--window", "10", "--horizon", "2");
        AssertOneLineError(code, err, "row 4, column 'value': '1e999' is not a finite number");

        string shortRow = P("short.csv");
        File.WriteAllLines(shortRow, ["a,b,value", "1,2,3", "1,2"]);
        (code, _, err) = Run("train", "--csv", shortRow, "--column", "value", "--save", P("x.rnnx"));
        AssertOneLineError(code, err, "row 3 has 2 cell(s); column 'value' is cell 3");

        string few = Csv("few.csv", 30);
        (code, _, err) = Run("train", "--csv", few, "--column", "value", "--save", P("x.rnnx"), "--window", "50", "--horizon", "10");
        AssertOneLineError(code, err, "few.csv: column 'value': The series has 30 values: 18 for training, 6 for validation and 6 for testing; training needs at least 60 (50 inputs + 10 targets)");
        Assert.That(err, Does.Contain("so the series needs at least 100 values"));

        (code, _, err) = Run("train", "--csv", P("missing.csv"), "--column", "value", "--save", P("x.rnnx"));
        AssertOneLineError(code, err, "missing.csv': no such file");

        // forecast: too few rows for the model's window.
        Assert.That(Run("train", "--csv", good, "--column", "value", "--arch", "linear", "--window", "10", "--horizon", "2", "--epochs", "1", "--save", P("lin.rnnx")).Code, Is.EqualTo(0));
        string tiny = Csv("tiny.csv", 5);
        (code, _, err) = Run("forecast", "--model", P("lin.rnnx"), "--csv", tiny);
        AssertOneLineError(code, err, "column 'value' has 5 values; the model reads the last 10");
    }

    [TestCase(new[] { "train", "--csv", "a.csv", "--column", "v" }, "Option '--save' is required; try 'rnnx train --help'")]
    [TestCase(new[] { "train", "--csv", "a.csv", "--column", "v", "--save", "m.rnnx", "--arch", "transformer" }, "option '--arch' must be one of linear, simple_rnn, lstm, gru, conv_rnn, wavenet, got 'transformer'")]
    [TestCase(new[] { "train", "--csv", "a.csv", "--column", "v", "--save", "m.rnnx", "--window", "0" }, "option '--window' must be between 1 and 100000, got 0")]
    [TestCase(new[] { "train", "--bogus" }, "Unrecognized command or argument '--bogus'; try 'rnnx train --help'")]
    [TestCase(new[] { "forecast", "--model" }, "Required argument missing for option: '--model'")]
    [TestCase(new[] { "export", "--model", "m.rnnx" }, "Option '--onnx' is required")]
    [TestCase(new[] { "export", "--model", "nothere.rnnx", "--onnx", "m.onnx" }, "--model 'nothere.rnnx': no such file")]
    public void BadOptions(string[] args, string expected)
    {
        var (code, _, err) = Run(args);
        AssertOneLineError(code, err, expected);
    }

    [Test]
    public void CorruptModelFileIsAOneLineError()
    {
        string path = P("corrupt.rnnx");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var (code, _, err) = Run("forecast", "--model", path, "--csv", Csv("c.csv", 10));
        AssertOneLineError(code, err, "header length");
    }

    [Test]
    public void HelpListsTheCommands()
    {
        var (code, stdout, _) = Run("--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("train").And.Contain("forecast").And.Contain("export"));
        foreach (var (command, options) in new[] { ("train", new[] { "--csv", "--column", "--save", "--arch", "--window", "--horizon", "--epochs", "--batch-size",
            "--validation", "--learning-rate", "--patience", "--checkpoint", "--log", "--seed", "--threads", "--resume", "--date-column", "--fill", "--no-header" }),
            ("forecast", new[] { "--model", "--csv", "--column", "--plot", "--json", "--window", "--date-column", "--fill", "--no-header" }),
            ("export", new[] { "--model", "--onnx", "--no-standardization" }) })
        {
            var help = Run(command, "--help");
            Assert.That(help.Code, Is.EqualTo(0));
            foreach (var option in options) Assert.That(help.Out, Does.Contain(option), command);
        }
        Assert.That(Run("train", "--help").Out, Does.Contain("linear|simple_rnn|lstm|gru|conv_rnn|wavenet"));
    }
}
