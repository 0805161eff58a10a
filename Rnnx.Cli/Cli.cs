using System.CommandLine;
using System.CommandLine.Invocation;
using Rnnx.Saving;

namespace Rnnx.Cli;

/// <summary>A problem with the command line, an input or an output, reported as one line without a stack trace.</summary>
internal sealed class CliException(string message, int exitCode = Cli.ExitUsage) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>The <c>rnnx</c> entry point: parsing (<see cref="RnnxCommandLine"/>), dispatch and top-level error handling.</summary>
internal static class Cli
{
    /// <summary>Exit code of a successful run.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code of a failure during the work (an I/O error, a model the exporter cannot express).</summary>
    public const int ExitError = 1;

    /// <summary>Exit code of bad input: the command line, a refused path, a bad CSV or model file, bad model metadata.</summary>
    public const int ExitUsage = 2;

    // Response files (@file) are off: a path starting with '@' is a path, never a file of arguments.
    private static readonly ParserConfiguration ParserSettings = new() { ResponseFileTokenReplacer = null };

    /// <summary>
    /// Runs the command line. Never throws: a bad option, input or output prints <c>rnnx: error: ...</c> on one line
    /// of <paramref name="error"/> and returns non-zero.
    /// </summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="output">Normal output (and help).</param>
    /// <param name="error">Errors and warnings.</param>
    /// <param name="interactive">Whether <paramref name="output"/> is a terminal (enables the live progress display).</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        try
        {
            var parse = RnnxCommandLine.Create(output, error, interactive).Parse(args, ParserSettings);
            return Invoke(parse, output, error);
        }
        catch (CliException e)
        {
            WriteError(error, e.Message);
            return e.ExitCode;
        }
        catch (ModelFormatException e)
        {
            WriteError(error, e.Message);
            return ExitUsage;
        }
        catch (Exception e)
        {
            WriteError(error, e.Message);
            return ExitError;
        }
    }

    /// <summary>Parses the options of <c>rnnx chapter</c> without running it.</summary>
    /// <exception cref="CliException">The first parse error.</exception>
    public static ChapterOptions ParseChapter(string[] args, bool interactive)
    {
        ChapterOptions? parsed = null;
        var parse = RnnxCommandLine.Create(TextWriter.Null, TextWriter.Null, interactive, o => parsed = o).Parse(["chapter", .. args], ParserSettings);
        Invoke(parse, TextWriter.Null, TextWriter.Null);
        return parsed ?? throw new CliException("no options parsed");
    }

    private static int Invoke(ParseResult parse, TextWriter output, TextWriter error)
    {
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
            throw new CliException(parse.Errors[0].Message.TrimEnd('.') + HelpHint(parse));
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static string HelpHint(ParseResult parse)
    {
        string command = parse.CommandResult.Command is RootCommand ? "" : " " + parse.CommandResult.Command.Name;
        return $"; try 'rnnx{command} --help'";
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

    /// <summary>Writes a one-line warning.</summary>
    public static void Warn(TextWriter error, string message)
    {
        error.WriteLine($"rnnx: warning: {message}");
        error.Flush();
    }
}
