using Rnnx.Benchmarks.Scaling;
using System.Diagnostics;
using System.Globalization;
using Rnnx.Cli;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Benchmarks.Models;

/// <summary>
/// The cost of dropout over a whole training epoch: the chapter's LSTM forecaster plain (<c>lstm_rnn</c>) and with
/// <c>dropout=0.2, recurrentDropout=0.2</c> on both LSTM layers (<c>lstm_dropout</c>), one epoch of the chapter's
/// training set each per round, A/B interleaved (the order alternating by round) so that both see the same machine
/// load. Reports the medians of wall time and of process CPU time per epoch and their ratios (dropout / plain).
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- dropout-epoch [--rounds 7] [--threads 1]</code>
/// </summary>
internal static class DropoutEpochBenchmark
{
    public const string Usage = "usage: dropout-epoch [--rounds N] [--threads N]";

    public static int Run(string[] args)
    {
        int rounds = 7, threads = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rounds" when int.TryParse(value, CultureInfo.InvariantCulture, out rounds) && rounds > 0: i++; break;
                case "--threads" when int.TryParse(value, CultureInfo.InvariantCulture, out threads) && threads > 0: i++; break;
                default:
                    Console.Error.WriteLine($"bad option '{args[i]}' {value}; {Usage}");
                    return 2;
            }
        }

        var plain = Prepare("lstm_rnn", threads, out var x, out var y);
        var dropout = Prepare("lstm_dropout", threads, out _, out _);
        Epoch(plain, x, y);
        Epoch(dropout, x, y);
        var (plainWall, plainCpu, dropWall, dropCpu) = (new double[rounds], new double[rounds], new double[rounds], new double[rounds]);
        for (int r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                (plainWall[r], plainCpu[r]) = Epoch(plain, x, y);
                (dropWall[r], dropCpu[r]) = Epoch(dropout, x, y);
            }
            else
            {
                (dropWall[r], dropCpu[r]) = Epoch(dropout, x, y);
                (plainWall[r], plainCpu[r]) = Epoch(plain, x, y);
            }
        }
        double pw = ScalingGrid.Median(plainWall), pc = ScalingGrid.Median(plainCpu), dw = ScalingGrid.Median(dropWall), dc = ScalingGrid.Median(dropCpu);
        Console.WriteLine($"chapter LSTM, one epoch ({x.Shape[0]} windows, batch 32), {threads} thread(s), {rounds} rounds A/B, load {LoadAverage()}");
        Console.WriteLine(FormattableString.Invariant($"  plain    wall {pw * 1e3,8:F1} ms   cpu {pc * 1e3,8:F1} ms"));
        Console.WriteLine(FormattableString.Invariant($"  dropout  wall {dw * 1e3,8:F1} ms   cpu {dc * 1e3,8:F1} ms"));
        Console.WriteLine(FormattableString.Invariant($"  ratio    wall {dw / pw,8:F2}x     cpu {dc / pc,8:F2}x"));
        return 0;
    }

    private static Sequential Prepare(string name, int threads, out Tensor x, out Tensor y)
    {
        var spec = ChapterModels.Get(name);
        var (train, _) = ChapterRunner.LoadData(spec.Task);
        var model = spec.Create(42);
        model.Threads = threads;
        model.Compile(new Nadam(), Loss.MeanSquaredError);
        x = Tensor.FromArray(train.X, train.XShape);
        y = Tensor.FromArray(train.Y, train.YShape);
        return model;
    }

    /// <summary>One epoch: (wall seconds, process CPU seconds).</summary>
    private static (double Wall, double Cpu) Epoch(Sequential model, Tensor x, Tensor y)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp();
        model.Fit(x, y, epochs: 1, batchSize: 32, verbose: 0);
        double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu0).TotalSeconds);
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
        catch (UnauthorizedAccessException) { return "?"; }
    }
}
