using System.Diagnostics;
using Rnnx.Cli;
using Rnnx.Data;

namespace Rnnx.Tests.Cli;

/// <summary>The command line: option parsing, help, and one-line errors with a non-zero exit code.</summary>
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Rnnx.Cli.Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static void AssertOneLineError(int code, string stderr, string expected)
    {
        Assert.That(code, Is.Not.EqualTo(0));
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("rnnx: error: ").And.Contain(expected));
        Assert.That(stderr, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
    }

    [TestCase(new[] { "chapter", "--bogus" }, "Unrecognized command or argument '--bogus'; try 'rnnx chapter --help'")]
    [TestCase(new[] { "chapter", "--epochs", "ten" }, "expects an integer, got 'ten'")]
    [TestCase(new[] { "chapter", "--epochs", "1.5" }, "expects an integer")]
    [TestCase(new[] { "chapter", "--epochs", "0" }, "option '--epochs' must be between 1 and 1000000, got 0")]
    [TestCase(new[] { "chapter", "--epochs" }, "Required argument missing for option: '--epochs'")]
    [TestCase(new[] { "chapter", "--epochs", "--no-plots" }, "option '--epochs' expects an integer, got '--no-plots'")]
    [TestCase(new[] { "chapter", "--seed", "x" }, "expects an integer")]
    [TestCase(new[] { "chapter", "--threads", "0" }, "option '--threads' must be between 1 and 1024, got 0")]
    [TestCase(new[] { "chapter", "--only", "linear,gpt" }, "unknown model 'gpt'")]
    [TestCase(new[] { "chapter", "--only", "," }, "at least one model")]
    [TestCase(new[] { "chapter", "--no-plots=yes" }, "Unrecognized command or argument 'yes'")]
    [TestCase(new[] { "chapter", "extra" }, "Unrecognized command or argument 'extra'")]
    [TestCase(new[] { "fly" }, "Unrecognized command or argument 'fly'; try 'rnnx --help'")]
    [TestCase(new[] { "--epochs", "1" }, "Unrecognized command or argument '--epochs'")]
    [TestCase(new string[0], "missing command")]
    public void BadCommandLine_IsOneLineErrorAndNonZero(string[] args, string expected)
    {
        var (code, stdout, stderr) = Run(args);
        AssertOneLineError(code, stderr, expected);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
    }

    [Test]
    public void UnwritableOutputFolder_IsOneLineErrorBeforeTraining()
    {
        string file = Path.GetTempFileName();
        try
        {
            var (code, stdout, stderr) = Run("chapter", "--epochs", "1", "--only", "linear", "--out", Path.Combine(file, "plots"));
            AssertOneLineError(code, stderr, "is a regular file, not a folder");
            Assert.That(stdout, Is.Empty, "nothing runs when the results cannot be written");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void UnwritableJsonFile_IsOneLineErrorBeforeTraining()
    {
        string file = Path.GetTempFileName();
        try
        {
            var (code, stdout, stderr) = Run("chapter", "--no-plots", "--json", Path.Combine(file, "r.json"));
            AssertOneLineError(code, stderr, "is a regular file, not a folder");
            Assert.That(stdout, Is.Empty);
            (code, _, stderr) = Run("chapter", "--no-plots", "--json", Path.GetTempPath());
            AssertOneLineError(code, stderr, "is a folder; outputs only replace regular files");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestCase("--help")]
    [TestCase("-h")]
    public void Help_ListsCommandAndOptions(string flag)
    {
        var (code, stdout, stderr) = Run(flag);
        Assert.That((code, stderr), Is.EqualTo((0, "")));
        foreach (var command in new[] { "chapter", "train", "forecast", "export", "--help", "--version" })
            Assert.That(stdout, Does.Contain(command));
        (code, stdout, stderr) = Run("chapter", flag);
        Assert.That((code, stderr), Is.EqualTo((0, "")));
        foreach (var option in new[] { "--only", "--epochs", "--seed", "--out", "--no-plots", "--json", "--threads", "--nadam", "--help" })
            Assert.That(stdout, Does.Contain(option));
        foreach (var model in ChapterModels.Names) Assert.That(stdout, Does.Contain(model));
    }

    [Test]
    public void Completions_ComeFromTheParser()
    {
        // The [suggest:position] directive that dotnet-suggest calls for shell completion.
        var (code, stdout, _) = Run("[suggest:8]", "rnnx tra");
        Assert.That((code, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)), Is.EqualTo((0, new[] { "train" })));
        (code, stdout, _) = Run("[suggest:19]", "rnnx train --arch ");
        Assert.That(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EquivalentTo(new[] { "linear", "simple_rnn", "lstm", "gru", "conv_rnn", "wavenet" }));
        (code, stdout, _) = Run("[suggest:21]", "rnnx chapter --only ");
        Assert.That(stdout, Does.Contain("wavenet").And.Contain("deep_rnn_10steps"));
    }

    [Test]
    public void ParseChapter_Defaults()
    {
        var o = Rnnx.Cli.Cli.ParseChapter([], interactive: false);
        Assert.That(o.Only, Is.Null);
        Assert.That(o.Epochs, Is.Null);
        Assert.That(o.Seed, Is.EqualTo(42));
        Assert.That(o.OutputDirectory, Is.EqualTo("out"));
        Assert.That(o.Plots, Is.True);
        Assert.That(o.JsonPath, Is.Null);
        Assert.That(o.Threads, Is.Null);
        Assert.That(o.BatchSize, Is.EqualTo(32));
        Assert.That(o.Progress, Is.EqualTo(ProgressMode.Lines));
        Assert.That(Rnnx.Cli.Cli.ParseChapter([], interactive: true).Progress, Is.EqualTo(ProgressMode.Live));
    }

    [Test]
    public void ParseChapter_AllOptions()
    {
        var o = Rnnx.Cli.Cli.ParseChapter(
            ["--only", "wavenet, linear", "--epochs=3", "--seed", "7", "--out", "plots", "--no-plots", "--json", "r.json", "--threads", "1"],
            interactive: false);
        Assert.That(o.Only, Is.EqualTo(new[] { "wavenet", "linear" }));
        Assert.That(o.Epochs, Is.EqualTo(3));
        Assert.That(o.Seed, Is.EqualTo(7));
        Assert.That(o.OutputDirectory, Is.EqualTo("plots"));
        Assert.That(o.Plots, Is.False);
        Assert.That(o.JsonPath, Is.EqualTo("r.json"));
        Assert.That(o.Threads, Is.EqualTo(1));
        Assert.That(o.Includes("linear") && o.Includes("wavenet") && !o.Includes("lstm_rnn"));
    }

    [Test]
    public void Models_MatchTheNotebook()
    {
        Assert.That(ChapterModels.Names, Is.EqualTo(new[]
        {
            "linear", "simple_rnn", "deep_rnn", "deep_rnn_10steps", "s2s_rnn", "ln_rnn", "lstm_rnn", "conv_rnn", "wavenet",
        }));
        Assert.That(ChapterModels.All.Select(m => m.NotebookEpochs), Is.EqualTo(new[] { 20, 10, 10, 10, 13, 10, 10, 10, 10 }));
        Assert.That(ChapterModels.All.Where(m => m.UsesLastTimeStepMse).Select(m => m.Name),
            Is.EqualTo(new[] { "s2s_rnn", "ln_rnn", "lstm_rnn", "conv_rnn", "wavenet" }));
        // Parameter counts from the weight shapes the Keras layers build (see ModelStructureTests).
        var expected = new Dictionary<string, int>
        {
            ["linear"] = 51, ["simple_rnn"] = 3, ["deep_rnn"] = 1281, ["deep_rnn_10steps"] = 1470, ["s2s_rnn"] = 1470,
            ["ln_rnn"] = 1550, ["lstm_rnn"] = 5250, ["conv_rnn"] = 5350, ["wavenet"] = 6010,
        };
        foreach (var spec in ChapterModels.All)
        {
            var model = spec.Create(42);
            model.Build();
            Assert.That(model.CountParams(), Is.EqualTo(expected[spec.Name]), spec.Name);
        }
    }

    [Test]
    public void Extras_RunOnlyWhenNamed()
    {
        Assert.That(ChapterModels.Extras.Select(m => m.Name), Is.EqualTo(new[] { "bidirectional_lstm", "encoder_repeat_decoder", "encoder_decoder_states", "lstm_dropout" }));
        var spec = ChapterModels.Get("bidirectional_lstm");
        Assert.That((spec.KerasValMse, spec.Task, spec.NotebookEpochs), Is.EqualTo(((float?)null, ChapterTask.TenStepVector, 10)));
        var model = spec.Create(42);
        model.Build();
        // Keras: Bidirectional(LSTM(20)) on 1 feature 2·4·20·22 = 3,520; on 40 features 2·4·20·61 = 9,760; Dense(10) 410.
        Assert.That(model.Layers.Select(l => l.CountParams()), Is.EqualTo(new[] { 3520, 9760, 410 }));

        Assert.That(ChapterRunner.SelectModels(new ChapterOptions()).Select(m => m.Name), Is.EqualTo(ChapterModels.Names));
        var named = Rnnx.Cli.Cli.ParseChapter(["--only", "bidirectional_lstm,linear"], interactive: false);
        Assert.That(ChapterRunner.SelectModels(named).Select(m => m.Name), Is.EqualTo(new[] { "linear", "bidirectional_lstm" }));
        var (code, _, stderr) = Run("chapter", "--only", "bidirectional", "--no-plots");
        AssertOneLineError(code, stderr, "unknown model 'bidirectional' in --only; models: linear, simple_rnn");
        Assert.That(stderr, Does.Contain("wavenet, bidirectional_lstm"));
    }

    [Test]
    public void Extras_TrainAndReportWithoutANotebookValue()
    {
        var (code, stdout, stderr) = Run("chapter", "--epochs", "1", "--only", "bidirectional_lstm", "--no-plots");
        Assert.That((code, stderr), Is.EqualTo((0, "")));
        Assert.That(stdout, Does.Contain("bidirectional_lstm: 13690 parameters, 1 epoch(s)").And.Contain("(not in the notebook)"));
        var row = stdout.Split('\n').Single(l => l.StartsWith("bidirectional_lstm ", StringComparison.Ordinal));
        Assert.That(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..5], Is.EqualTo(new[] { "-", "-" }), "no notebook value, no ratio");
    }

    [Test]
    public void NaiveBaseline_IsTheNotebooksValue()
    {
        Assert.That(ChapterRunner.NaiveForecastMse(ChapterData.OneStep().Valid), Is.EqualTo(0.021185566f));
    }

    [Test]
    public void PairwiseSum_MatchesNumPysBlocking()
    {
        // Small inputs are summed in order; exact for integers in any order.
        float[] ints = Enumerable.Range(1, 1000).Select(i => (float)i).ToArray();
        Assert.That(KerasMath.PairwiseSum(ints), Is.EqualTo(500500f));
        Assert.That(KerasMath.PairwiseSum([]), Is.EqualTo(0f));
        // np.float32 sum of [1e8] + [1]*16 (blocked: the ones are added to separate accumulators first).
        float[] a = [1e8f, .. Enumerable.Repeat(1f, 15)];
        Assert.That(KerasMath.PairwiseSum(a), Is.EqualTo(1e8f + 8f));
        Assert.That(KerasMath.MeanSquaredError([0f, 0f, 1f, 1f], [1f, 1f, 1f, 3f], 2), Is.EqualTo(1.5f));
        Assert.That(KerasMath.LastTimeStepMse([0f, 0f, 5f, 5f], [9f, 9f, 4f, 7f], samples: 1, steps: 2, lastDim: 2), Is.EqualTo(2.5f));
    }

    [Test]
    public void ProcessEntryPoint_BadOption_ExitsNonZeroWithOneLine()
    {
        string dll = typeof(ChapterRunner).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet", [dll, "chapter", "--epochs", "many"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(60_000), "the CLI did not exit");
        Assert.That(p.ExitCode, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr.TrimEnd('\n'), Is.EqualTo("rnnx: error: option '--epochs' expects an integer, got 'many'; try 'rnnx chapter --help'"));
    }
}
