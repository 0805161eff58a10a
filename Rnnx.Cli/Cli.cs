using System.Globalization;

namespace Rnnx.Cli;

/// <summary>A problem with the command line or the environment, reported as one line without a stack trace.</summary>
internal sealed class CliException(string message, int exitCode = Cli.ExitUsage) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>The <c>rnnx</c> command line: parsing, help, dispatch and top-level error handling.</summary>
internal static class Cli
{
    /// <summary>Exit code of a successful run.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code of an unexpected failure.</summary>
    public const int ExitError = 1;

    /// <summary>Exit code of a bad command line.</summary>
    public const int ExitUsage = 2;

    /// <summary>
    /// Runs the command line. Never throws: a bad option or an unwritable output prints <c>rnnx: error: ...</c> on one
    /// line of <paramref name="error"/> and returns non-zero.
    /// </summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="output">Normal output.</param>
    /// <param name="error">Error output.</param>
    /// <param name="interactive">Whether <paramref name="output"/> is a terminal (enables the live progress display).</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        try
        {
            if (args.Length == 0)
                throw new CliException("missing command; try 'rnnx --help'");
            string command = args[0];
            if (command is "-h" or "--help" or "help")
            {
                output.Write(Help);
                return ExitOk;
            }
            if (command is "--version")
            {
                output.WriteLine(typeof(Cli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
                return ExitOk;
            }
            if (SeriesCommands.IsCommand(command))   // train / forecast / export
                return SeriesCommands.Run(command, args.AsSpan(1), output, interactive);
            if (command != "chapter")
                throw new CliException(command.StartsWith('-')
                    ? $"unknown option '{command}' (expected a command first; try 'rnnx --help')"
                    : $"unknown command '{command}' (commands: chapter, train, forecast, export; try 'rnnx --help')");
            var options = ParseChapter(args.AsSpan(1), interactive, out bool help);
            if (help)
            {
                output.Write(Help);
                return ExitOk;
            }
            ChapterRunner.Run(options, output);
            return ExitOk;
        }
        catch (CliException e)
        {
            WriteError(error, e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            WriteError(error, e.Message);
            return ExitError;
        }
    }

    private static void WriteError(TextWriter error, string message)
    {
        string oneLine = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        try
        {
            error.WriteLine($"rnnx: error: {oneLine}");
            error.Flush();
        }
        catch (IOException)
        {
            // Nowhere left to report to.
        }
    }

    /// <summary>Parses the options of <c>rnnx chapter</c>.</summary>
    /// <exception cref="CliException">An unknown option, a missing or malformed value, or an unknown model name.</exception>
    public static ChapterOptions ParseChapter(ReadOnlySpan<string> args, bool interactive, out bool help)
    {
        help = false;
        var o = new ChapterOptions { Progress = interactive ? ProgressMode.Live : ProgressMode.Lines };
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string name = arg;
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 2)
            {
                name = arg[..eq];
                inline = arg[(eq + 1)..];
            }
            string Value(ReadOnlySpan<string> a)
            {
                if (inline is not null) return inline;
                if (i + 1 >= a.Length || (a[i + 1].StartsWith("--", StringComparison.Ordinal) && a[i + 1].Length > 2))
                    throw new CliException($"option '{name}' needs a value");
                return a[++i];
            }
            void NoValue()
            {
                if (inline is not null) throw new CliException($"option '{name}' takes no value");
            }
            switch (name)
            {
                case "-h" or "--help":
                    NoValue();
                    help = true;
                    break;
                case "--only":
                    o = o with { Only = ParseModels(Value(args)) };
                    break;
                case "--epochs":
                    o = o with { Epochs = ParseInt(name, Value(args), 1) };
                    break;
                case "--seed":
                    o = o with { Seed = ParseInt(name, Value(args), 0) };
                    break;
                case "--nadam":
                    o = o with
                    {
                        NadamSchedule = Value(args) switch
                        {
                            "keras3" => Rnnx.Optimizers.NadamSchedule.Keras3,
                            "legacy" => Rnnx.Optimizers.NadamSchedule.Legacy,
                            var v => throw new CliException($"--nadam must be keras3 or legacy, got '{v}'", ExitUsage),
                        },
                    };
                    break;
                case "--threads":
                    o = o with { Threads = ParseInt(name, Value(args), 1) };
                    break;
                case "--out":
                    o = o with { OutputDirectory = NonEmpty(name, Value(args)) };
                    break;
                case "--json":
                    o = o with { JsonPath = NonEmpty(name, Value(args)) };
                    break;
                case "--no-plots":
                    NoValue();
                    o = o with { Plots = false };
                    break;
                default:
                    throw new CliException(arg.StartsWith('-')
                        ? $"unknown option '{name}'; try 'rnnx --help'"
                        : $"unexpected argument '{arg}'; try 'rnnx --help'");
            }
        }
        return o;
    }

    private static string NonEmpty(string option, string value) =>
        string.IsNullOrWhiteSpace(value) ? throw new CliException($"option '{option}' needs a non-empty value") : value;

    private static int ParseInt(string option, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
            throw new CliException($"option '{option}' expects an integer, got '{value}'");
        if (n < min)
            throw new CliException($"option '{option}' must be at least {min}, got {n}");
        return n;
    }

    private static string[] ParseModels(string value)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new CliException("option '--only' needs at least one model name");
        foreach (var n in names)
            if (!ChapterModels.Names.Contains(n))
                throw new CliException($"unknown model '{n}' in --only; models: {string.Join(", ", ChapterModels.Names)}");
        return names.Distinct().ToArray();
    }

    /// <summary>The help text.</summary>
    public static string Help { get; } = ($"""
        rnnx - the Hands-On ML chapter 15 notebook (RNNs and CNNs on time series) on the Rnnx engine

        Usage:
          rnnx chapter [options]    train the chapter's models in the notebook's order, print a table, write plots
          rnnx train ...            train a forecaster on a column of your CSV file and save it (.rnnx)
          rnnx forecast ...         forecast the steps after the end of a CSV column with a saved model
          rnnx export ...           export a saved model to ONNX
          rnnx --help               show this help

        Options of 'chapter':
          --only a,b        train only these models (the naive baseline always runs); models:
                            {string.Join(", ", ChapterModels.Names)}
          --epochs N        train every model for N epochs instead of the notebook's (20 linear, 13 s2s_rnn, 10 others)
          --seed N          seed of the models' initial weights and shuffles (default 42)
          --out DIR         folder for the PNG plots (default out)
          --no-plots        do not write plots
          --json FILE       also write the results as JSON
          --threads N       training threads per model (default: up to 2; results do not depend on it)
          --nadam S         Nadam momentum schedule: keras3 (default) or legacy (tf.keras 2.x, 0.004 factor)
          -h, --help        show this help

        Example:
          dotnet run -c Release --project Rnnx.Cli -- chapter --epochs 1 --only linear,wavenet

        """ + SeriesCommands.Help).Replace("\r\n", "\n", StringComparison.Ordinal);
}
