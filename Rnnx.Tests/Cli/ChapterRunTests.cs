using System.Text.Json;
using Rnnx.Cli;

namespace Rnnx.Tests.Cli;

/// <summary>
/// Runs <c>rnnx chapter --epochs 1 --only linear,wavenet</c> in-process once, into a temporary folder, and checks what it
/// wrote: the JSON report, the PNG plots and the results table.
/// </summary>
[NonParallelizable]
public class ChapterRunTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private string _dir = "";
    private string _jsonPath = "";
    private int _exitCode;
    private string _stdout = "";
    private string _stderr = "";

    [OneTimeSetUp]
    public void RunChapter()
    {
        _dir = Path.Combine(Path.GetTempPath(), "rnnx-cli-test-" + Guid.NewGuid().ToString("N"));
        _jsonPath = Path.Combine(_dir, "report", "chapter.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        _exitCode = Rnnx.Cli.Cli.Run(
            ["chapter", "--epochs", "1", "--only", "linear,wavenet", "--out", Path.Combine(_dir, "plots"), "--json", _jsonPath],
            stdout, stderr);
        _stdout = stdout.ToString();
        _stderr = stderr.ToString();
    }

    [OneTimeTearDown]
    public void DeleteOutput()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void ExitsWithZeroAndNoErrors()
    {
        Assert.That(_stderr, Is.Empty);
        Assert.That(_exitCode, Is.EqualTo(0), _stdout);
    }

    [Test]
    public void Json_HasBaselineModelsAndMachine()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(_jsonPath));
        var root = doc.RootElement;

        var naive = root.GetProperty("naive_baseline");
        Assert.That(naive.GetProperty("val_mse").GetSingle(), Is.EqualTo(0.021185566f));
        Assert.That(naive.GetProperty("keras_val_mse").GetSingle(), Is.EqualTo(0.021185566f));

        var models = root.GetProperty("models").EnumerateArray().ToList();
        Assert.That(models.Select(m => m.GetProperty("name").GetString()), Is.EqualTo(new[] { "linear", "wavenet" }));
        Assert.That(models.Select(m => m.GetProperty("params").GetInt32()), Is.EqualTo(new[] { 51, 6010 }));
        Assert.That(models.Select(m => m.GetProperty("keras_val_mse").GetSingle()), Is.EqualTo(new[] { 0.0037825033f, 0.022441423f }));
        foreach (var m in models)
        {
            string name = m.GetProperty("name").GetString()!;
            float valMse = m.GetProperty("val_mse").GetSingle();
            Assert.That(float.IsFinite(valMse) && valMse > 0, name);
            Assert.That(m.GetProperty("epochs").GetInt32(), Is.EqualTo(1), name);
            Assert.That(m.GetProperty("loss").GetArrayLength(), Is.EqualTo(1), name);
            Assert.That(m.GetProperty("val_loss").GetArrayLength(), Is.EqualTo(1), name);
            Assert.That(m.GetProperty("epoch_seconds").GetArrayLength(), Is.EqualTo(1), name);
            Assert.That(m.GetProperty("training_seconds").GetDouble(), Is.GreaterThan(0), name);
            // The validation loss is the same quantity as the MSE computed from Predict, up to float rounding.
            Assert.That(m.GetProperty("val_loss")[0].GetDouble(), Is.EqualTo(valMse).Within(1e-4).Percent, name);
        }

        Assert.That(models[0].GetProperty("last_step_mse").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(models[0].GetProperty("metrics").EnumerateObject(), Is.Empty);
        float lastStep = models[1].GetProperty("last_step_mse").GetSingle();
        Assert.That(float.IsFinite(lastStep) && lastStep > 0);
        var metrics = models[1].GetProperty("metrics");
        Assert.That(metrics.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "last_time_step_mse", "val_last_time_step_mse" }));
        Assert.That(metrics.GetProperty("val_last_time_step_mse")[0].GetDouble(), Is.EqualTo(lastStep).Within(1e-4).Percent);

        Assert.That(root.GetProperty("iterative_forecast_mse").GetSingle(), Is.GreaterThan(0));
        Assert.That(root.GetProperty("epochs_override").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("seed").GetInt32(), Is.EqualTo(42));
        Assert.That(root.GetProperty("total_seconds").GetDouble(), Is.GreaterThan(0));
        var machine = root.GetProperty("machine");
        Assert.That(machine.GetProperty("processor_count").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(machine.GetProperty("vector512_accelerated").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False));
        Assert.That(machine.GetProperty("dotnet_version").GetString(), Does.Contain(".NET"));
        Assert.That(machine.GetProperty("os").GetString(), Is.Not.Empty);
    }

    [TestCase("mock_series.png")]
    [TestCase("learning_curves_linear.png")]
    [TestCase("forecast_iterative_linear.png")]
    [TestCase("learning_curves_wavenet.png")]
    [TestCase("forecast_wavenet.png")]
    public void Plot_IsANonEmptyPng(string file)
    {
        string path = Path.Combine(_dir, "plots", file);
        Assert.That(File.Exists(path), $"{file} was not written");
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Length, Is.GreaterThan(1000));
        Assert.That(bytes.Take(8), Is.EqualTo(PngSignature));
    }

    [Test]
    public void Json_ListsExactlyTheWrittenPlots()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(_jsonPath));
        var listed = doc.RootElement.GetProperty("plots").EnumerateArray().Select(p => Path.GetFileName(p.GetString()!)).ToList();
        var onDisk = Directory.GetFiles(Path.Combine(_dir, "plots")).Select(Path.GetFileName).ToList();
        Assert.That(listed, Is.EquivalentTo(onDisk));
        Assert.That(listed, Has.Count.EqualTo(5));
    }

    [Test]
    public void Output_HasOneLinePerEpochAndTheTable()
    {
        var lines = _stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.That(_stdout, Does.Not.Contain('\r'), "no live redraws when the output is not a terminal");
        Assert.That(lines.Count(l => l.TrimStart().StartsWith("Epoch 1/1 219/219", StringComparison.Ordinal)), Is.EqualTo(2));
        Assert.That(_stdout, Does.Contain("Naive forecast (X_valid[:, -1]): validation MSE 0.021185566"));

        int header = lines.FindIndex(l => l.StartsWith("model ", StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThan(0), _stdout);
        Assert.That(lines[header], Does.Contain("params").And.Contain("val MSE").And.Contain("Keras").And.Contain("last-step MSE").And.Contain("train time"));
        Assert.That(lines[header + 2], Does.StartWith("naive").And.Contain("0.021185566"));
        Assert.That(lines[header + 3], Does.StartWith("linear").And.Contain(" 51 ").And.Contain("0.0037825033"));
        Assert.That(lines[header + 4], Does.StartWith("wavenet").And.Contain(" 6010 ").And.Contain("0.022441423"));
        Assert.That(lines.Any(l => l.StartsWith("Total wall time: ", StringComparison.Ordinal)));
    }
}
