using System.Diagnostics;
using System.Globalization;
using System.Text;
using Rnnx.Models;

namespace Rnnx.Cli;

/// <summary>
/// Shows training progress. Live: a line redrawn with <c>\r</c> (bar, batch count, running loss, ETA), replaced at the
/// epoch's end by its summary (loss, val_loss, metrics, time). Lines: only the epoch summaries.
/// </summary>
internal sealed class ProgressCallback(TextWriter writer, ProgressMode mode) : Callback
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);

    private readonly Stopwatch _epochClock = new();
    private TimeSpan? _lastDraw;
    private int _epochs, _steps, _lastWidth;

    public override void OnTrainBegin(TrainingInfo info)
    {
        _epochs = info.Epochs;
        _steps = info.StepsPerEpoch;
    }

    public override void OnEpochBegin(int epoch)
    {
        _epochClock.Restart();
        _lastDraw = null;
        if (mode == ProgressMode.Live) Draw(EpochLabel(epoch) + " " + Bar(0) + $" 0/{_steps}");
    }

    public override void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (mode != ProgressMode.Live) return;
        var now = _epochClock.Elapsed;
        int done = batch + 1;
        if (_lastDraw is TimeSpan last && now - last < RedrawInterval && done < _steps) return;
        _lastDraw = now;
        double eta = now.TotalSeconds / done * (_steps - done);
        var sb = new StringBuilder(EpochLabel(epoch)).Append(' ').Append(Bar((double)done / _steps));
        sb.Append(CultureInfo.InvariantCulture, $" {done}/{_steps}");
        if (logs.TryGetValue("loss", out double loss)) sb.Append(CultureInfo.InvariantCulture, $" - loss: {loss:F6}");
        sb.Append(done < _steps ? $" - ETA {FormatSeconds(eta)}" : " - validating...");
        Draw(sb.ToString());
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        if (mode == ProgressMode.None) return;
        var sb = new StringBuilder(EpochLabel(epoch));
        sb.Append(CultureInfo.InvariantCulture, $" {_steps}/{_steps} - {FormatSeconds(seconds)}");
        foreach (var (key, value) in Ordered(logs)) sb.Append(CultureInfo.InvariantCulture, $" - {key}: {value:F6}");
        if (mode == ProgressMode.Live && _lastWidth > 0)
        {
            // Clear the live line, then print the summary in full (it may wrap).
            writer.Write('\r' + new string(' ', _lastWidth) + '\r');
            _lastWidth = 0;
        }
        writer.WriteLine(sb.ToString());
        writer.Flush();
    }

    /// <summary>Ends a live line left open by an interrupted epoch (call when training throws).</summary>
    public void Interrupt()
    {
        if (mode != ProgressMode.Live || _lastWidth == 0) return;
        writer.WriteLine();
        writer.Flush();
        _lastWidth = 0;
    }

    /// <summary>Keras's order: loss, metrics, val_loss, validation metrics.</summary>
    private static IEnumerable<KeyValuePair<string, double>> Ordered(IReadOnlyDictionary<string, double> logs) =>
        logs.Where(p => !p.Key.StartsWith("val_", StringComparison.Ordinal)).Concat(logs.Where(p => p.Key.StartsWith("val_", StringComparison.Ordinal)));

    private string EpochLabel(int epoch)
    {
        int digits = _epochs.ToString(CultureInfo.InvariantCulture).Length;
        return "  Epoch " + (epoch + 1).ToString(CultureInfo.InvariantCulture).PadLeft(digits) + "/" + _epochs.ToString(CultureInfo.InvariantCulture);
    }

    private static string Bar(double fraction)
    {
        int filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
        var sb = new StringBuilder(BarWidth + 2).Append('[');
        sb.Append('=', Math.Max(0, filled - 1));
        if (filled > 0) sb.Append(filled == BarWidth ? '=' : '>');
        sb.Append('.', BarWidth - filled);
        return sb.Append(']').ToString();
    }

    /// <summary>Overwrites the current line (without wrapping at the terminal's edge).</summary>
    private void Draw(string line)
    {
        int max = TerminalWidth() - 1;
        if (line.Length > max) line = line[..Math.Max(0, max)];
        int pad = Math.Max(0, _lastWidth - line.Length);
        writer.Write('\r' + line + new string(' ', pad));
        _lastWidth = line.Length;
        writer.Flush();
    }

    private static int TerminalWidth()
    {
        try
        {
            int w = Console.WindowWidth;
            return w > 20 ? w : 120;
        }
        catch (IOException)
        {
            return 120;
        }
        catch (PlatformNotSupportedException)
        {
            return 120;
        }
    }

    /// <summary>Seconds as <c>0.42s</c>, <c>12.3s</c> or <c>3m05s</c>.</summary>
    public static string FormatSeconds(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        if (seconds < 10) return seconds.ToString("F2", CultureInfo.InvariantCulture) + "s";
        if (seconds < 60) return seconds.ToString("F1", CultureInfo.InvariantCulture) + "s";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1
            ? $"{(int)t.TotalHours}h{t.Minutes:D2}m{t.Seconds:D2}s"
            : $"{t.Minutes}m{t.Seconds:D2}s";
    }
}
