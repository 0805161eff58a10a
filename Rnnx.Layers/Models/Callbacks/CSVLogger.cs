using System.Globalization;
using System.Text;

namespace Rnnx.Models;

/// <summary>
/// Writes one CSV row per epoch (Keras's <c>CSVLogger</c>): a header <c>epoch,loss,...,val_loss,...</c> (keys sorted, as
/// Keras does), then the 0-based epoch index (as Keras) and each value in round-trip precision. Each row is appended and
/// flushed when its epoch ends, so a crash keeps the rows written so far.
/// </summary>
/// <remarks>
/// With <c>append: true</c> rows are added to an existing file and the header is written only if the file is empty or
/// new; resumed training (<c>initialEpoch</c>) continues the epoch numbering. Without it the file is truncated when
/// training begins.
/// </remarks>
public sealed class CSVLogger : Callback
{
    private string[]? _keys;
    private bool _headerWritten;

    /// <summary>Creates the callback.</summary>
    /// <param name="filePath">The CSV file.</param>
    /// <param name="separator">The field separator (default comma).</param>
    /// <param name="append">Append to an existing file instead of replacing it.</param>
    public CSVLogger(string filePath, char separator = ',', bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        if (separator is '"' or '\n' or '\r' or '.' || char.IsDigit(separator)) throw new ArgumentException($"CSVLogger: '{separator}' cannot separate fields.", nameof(separator));
        FilePath = filePath;
        Separator = separator;
        Append = append;
    }

    /// <summary>The CSV file.</summary>
    public string FilePath { get; }

    /// <summary>The field separator.</summary>
    public char Separator { get; }

    /// <summary>Whether rows are appended to an existing file.</summary>
    public bool Append { get; }

    /// <inheritdoc />
    public override void OnTrainBegin(TrainingInfo info)
    {
        _keys = null;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(FilePath));
        if (dir is not null) Directory.CreateDirectory(dir);
        if (Append && File.Exists(FilePath) && new FileInfo(FilePath).Length > 0)
        {
            _headerWritten = true;
            var header = File.ReadLines(FilePath).FirstOrDefault();
            if (header is not null)
            {
                var cols = header.Split(Separator);
                if (cols.Length > 1 && cols[0] == "epoch") _keys = cols[1..];
            }
        }
        else
        {
            File.WriteAllText(FilePath, "");
            _headerWritten = false;
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        _keys ??= logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        var sb = new StringBuilder();
        if (!_headerWritten)
        {
            sb.Append("epoch");
            foreach (var k in _keys) sb.Append(Separator).Append(Quote(k));
            sb.Append('\n');
            _headerWritten = true;
        }
        sb.Append(epoch.ToString(CultureInfo.InvariantCulture));
        foreach (var k in _keys)
        {
            sb.Append(Separator);
            if (logs.TryGetValue(k, out double v)) sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
            else sb.Append("NA");
        }
        sb.Append('\n');
        using var fs = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        fs.Write(bytes);
        fs.Flush(flushToDisk: true);
    }

    private string Quote(string s) =>
        s.Contains(Separator) || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}
