using System.Globalization;
using System.Text;
using Rnnx.Saving;

namespace Rnnx.Models;

/// <summary>
/// Saves the model at the end of every epoch, or only when a monitored value improves (Keras's <c>ModelCheckpoint</c>).
/// By default each file is a whole-model checkpoint (<see cref="ModelIO.Save"/>): architecture, weights, optimizer state,
/// the shuffle generator's state and the number of epochs completed, so <see cref="ModelIO.LoadCheckpoint"/> followed by
/// <c>Fit(..., initialEpoch: checkpoint.Epoch)</c> continues exactly as if training had never stopped.
/// </summary>
/// <remarks>
/// The path is a pattern: <c>{epoch}</c> is the 1-based epoch number (as in Keras), and any log key can be used,
/// e.g. <c>ckpt-{epoch:02d}-{val_loss:.4f}.rnnx</c>. Python-style <c>0Nd</c> and <c>.Nf</c> specifiers and .NET
/// format strings (<c>{epoch:D3}</c>, <c>{loss:F4}</c>) are accepted; <c>{{</c> and <c>}}</c> are literal braces.
/// Missing folders are created. Files are written atomically.
/// </remarks>
public sealed class ModelCheckpoint : Callback
{
    private readonly List<string> _saved = [];

    /// <summary>Creates the callback.</summary>
    /// <param name="filePath">The path pattern, e.g. <c>checkpoints/model-{epoch:02d}.rnnx</c>.</param>
    /// <param name="monitor">The value compared when <paramref name="saveBestOnly"/> is set (default <c>val_loss</c>).</param>
    /// <param name="saveBestOnly">Save only when <paramref name="monitor"/> improves on the best value so far.</param>
    /// <param name="saveWeightsOnly">Save only the weights (<see cref="ModelIO.SaveWeights"/>) instead of a full checkpoint.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="saveFrequency">Save every this many epochs (default 1).</param>
    public ModelCheckpoint(string filePath, string monitor = "val_loss", bool saveBestOnly = false, bool saveWeightsOnly = false,
        MonitorMode mode = MonitorMode.Auto, int saveFrequency = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(saveFrequency);
        FilePath = filePath;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        SaveWeightsOnly = saveWeightsOnly;
        Mode = mode;
        SaveFrequency = saveFrequency;
        Best = IsMax ? double.NegativeInfinity : double.PositiveInfinity;
    }

    /// <summary>The path pattern.</summary>
    public string FilePath { get; }

    /// <summary>The monitored log key.</summary>
    public string Monitor { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether only weights are saved.</summary>
    public bool SaveWeightsOnly { get; }

    /// <summary>Whether lower or higher is better.</summary>
    public MonitorMode Mode { get; }

    /// <summary>Save every this many epochs.</summary>
    public int SaveFrequency { get; }

    /// <summary>The best monitored value so far (kept across Fit calls, as in Keras; settable when resuming).</summary>
    public double Best { get; set; }

    /// <summary>
    /// Metadata saved in every whole-model checkpoint (<see cref="SaveOptions.Metadata"/>), e.g. what an application
    /// needs to use the model (its input window, its scaling); null for none. Ignored with <see cref="SaveWeightsOnly"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>
    /// Callbacks whose state every whole-model checkpoint carries (metadata keys <see cref="CheckpointedCallbacks.KeyPrefix"/>…),
    /// for example the run's <see cref="EarlyStopping"/>: list them before this callback in <c>Fit</c>'s callbacks so
    /// their state includes the epoch being saved. Restore them with <see cref="CheckpointedCallbacks.Restore"/>.
    /// </summary>
    public IReadOnlyList<ICheckpointedCallback> States { get; init; } = [];

    /// <summary>The files written, in order.</summary>
    public IReadOnlyList<string> SavedPaths => _saved;

    private bool IsMax => Monitoring.IsMax(Monitor, Mode);

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        if ((epoch + 1) % SaveFrequency != 0) return;
        if (SaveBestOnly)
        {
            double current = Monitoring.Get(nameof(ModelCheckpoint), Monitor, logs);
            bool better = IsMax ? current > Best : current < Best;
            if (!better) return;
            Best = current;
        }
        var model = Model ?? throw new InvalidOperationException("ModelCheckpoint: no model (the callback is used outside Fit).");
        string path = FormatPath(FilePath, epoch + 1, logs);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        if (SaveWeightsOnly) ModelIO.SaveWeights(model, path);
        else
        {
            var metadata = Metadata?.ToDictionary() ?? [];
            foreach (var (k, v) in CheckpointedCallbacks.Save(States)) metadata[k] = v;
            ModelIO.Save(model, path, new SaveOptions { Epoch = epoch + 1, Metadata = metadata });
        }
        _saved.Add(path);
    }

    /// <summary>Expands <c>{epoch}</c> and log keys in a path pattern (see the class remarks).</summary>
    /// <exception cref="FormatException">An unknown key or an unclosed brace.</exception>
    public static string FormatPath(string pattern, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(logs);
        var sb = new StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            char ch = pattern[i];
            if (ch == '{' && i + 1 < pattern.Length && pattern[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (ch == '}' && i + 1 < pattern.Length && pattern[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (ch != '{') { sb.Append(ch); continue; }
            int close = pattern.IndexOf('}', i + 1);
            if (close < 0) throw new FormatException($"ModelCheckpoint: unclosed '{{' at position {i} in '{pattern}'.");
            string field = pattern[(i + 1)..close];
            int colon = field.IndexOf(':');
            string key = colon < 0 ? field : field[..colon];
            string? spec = colon < 0 ? null : DotNetFormat(field[(colon + 1)..]);
            if (key == "epoch") sb.Append(epoch.ToString(spec, CultureInfo.InvariantCulture));
            else if (logs.TryGetValue(key, out double v)) sb.Append(v.ToString(spec ?? "R", CultureInfo.InvariantCulture));
            else throw new FormatException($"ModelCheckpoint: '{{{key}}}' in '{pattern}' is neither 'epoch' nor a log key ({string.Join(", ", logs.Keys)}).");
            i = close;
        }
        return sb.ToString();
    }

    private static string DotNetFormat(string spec)
    {
        // Python's "02d" / "3d" → D2 / D3 (zero padding), ".4f" → F4, ".3e" → E3; anything else is a .NET format string.
        if (spec.Length >= 2 && spec[^1] == 'd' && int.TryParse(spec.AsSpan(0, spec.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int w)) return "D" + w.ToString(CultureInfo.InvariantCulture);
        if (spec.Length >= 3 && spec[0] == '.' && spec[^1] is 'f' or 'e' && int.TryParse(spec.AsSpan(1, spec.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            return (spec[^1] == 'f' ? "F" : "E") + p.ToString(CultureInfo.InvariantCulture);
        return spec;
    }
}
