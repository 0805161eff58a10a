using System.Globalization;
using Rnnx.Models;

namespace Rnnx.Cli;

/// <summary>
/// The <c>--checkpoint</c> pattern: validated before training (known keys, bounded format widths), expanded for the
/// epochs to come so that every name is checked against the other paths, and guarded again at each save for names
/// that depend on logged values.
/// </summary>
internal static class CheckpointPattern
{
    /// <summary>The widest zero padding or precision accepted in a field (<c>{epoch:064d}</c>).</summary>
    public const int MaxWidth = 64;

    /// <summary>How many epoch names are checked before training; later ones are checked when written.</summary>
    public const int NamesCheckedAhead = 10_000;

    private static readonly IReadOnlyDictionary<string, double> SampleLogs = new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.5 };

    /// <summary>Checks the pattern and every name it gives for epochs <paramref name="first"/>..<paramref name="last"/>.</summary>
    /// <exception cref="CliException">A bad field, a width above <see cref="MaxWidth"/>, or a name that clashes.</exception>
    public static void Check(string pattern, int first, int last, PathGuard guard)
    {
        bool usesLogs = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '{') continue;
            if (i + 1 < pattern.Length && pattern[i + 1] == '{') { i++; continue; }
            int close = pattern.IndexOf('}', i + 1);
            if (close < 0) break;   // FormatPath reports it
            string field = pattern[(i + 1)..close];
            int colon = field.IndexOf(':');
            string key = colon < 0 ? field : field[..colon];
            usesLogs |= key != "epoch";
            if (colon >= 0) CheckWidth(field[(colon + 1)..], pattern);
            i = close;
        }
        string sample;
        try
        {
            sample = ModelCheckpoint.FormatPath(pattern, first, SampleLogs);
        }
        catch (FormatException e)
        {
            throw new CliException($"--checkpoint '{CliOptions.Short(pattern)}': {e.Message.Replace("ModelCheckpoint: ", "", StringComparison.Ordinal)}");
        }
        if (usesLogs)
        {
            guard.PatternOutput("--checkpoint", pattern, sample);   // the folder and kind; the names are checked when written
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long e = first; e <= last && e - first < NamesCheckedAhead; e++)
        {
            string path = ModelCheckpoint.FormatPath(pattern, (int)e, SampleLogs);
            if (seen.Add(path)) guard.PatternOutput("--checkpoint", pattern, path);
        }
    }

    private static void CheckWidth(string spec, string pattern)
    {
        // Every run of digits in a format spec is a width or a precision: bound it before anything is formatted.
        for (int i = 0; i < spec.Length; i++)
        {
            if (!char.IsAsciiDigit(spec[i])) continue;
            int j = i;
            while (j < spec.Length && char.IsAsciiDigit(spec[j])) j++;
            string digits = spec[i..j].TrimStart('0');
            if (digits.Length > 3 || (digits.Length > 0 && int.Parse(digits, CultureInfo.InvariantCulture) > MaxWidth))
                throw new CliException($"--checkpoint '{CliOptions.Short(pattern)}': the width or precision '{CliOptions.Short(spec[i..j])}' is above the limit {MaxWidth}");
            i = j - 1;
        }
    }

    /// <summary>Refuses, when a checkpoint is about to be written, a name that is an input or another output.</summary>
    internal sealed class Guard(string pattern, PathGuard paths) : Callback
    {
        /// <inheritdoc />
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
        {
            string path = ModelCheckpoint.FormatPath(pattern, epoch + 1, logs);
            if (paths.ClashOf(path, "--checkpoint") is { } option)
                throw new CliException($"--checkpoint '{path}' (from '{CliOptions.Short(pattern)}') is the same file as {option}; training stopped before writing it");
            var kind = FileStat.Of(path, followLinks: false).Kind;
            if (kind is not (FileKind.Missing or FileKind.Regular))
                throw new CliException($"--checkpoint '{path}' is {FileStat.Describe(kind)}; outputs only replace regular files; training stopped before writing it");
        }
    }
}
