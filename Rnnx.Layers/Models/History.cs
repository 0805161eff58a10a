namespace Rnnx.Models;

/// <summary>Per-epoch values recorded by <see cref="O:Rnnx.Models.Model.Fit"/>, like Keras's <c>History.history</c>.</summary>
public sealed class History
{
    private readonly Dictionary<string, List<double>> _values = [];

    /// <summary>Keys in insertion order: <c>loss</c>, metrics, <c>val_loss</c>, <c>val_</c> metrics.</summary>
    public IReadOnlyList<string> Keys => _keys;

    private readonly List<string> _keys = [];

    /// <summary>The values of a key, one per epoch.</summary>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public IReadOnlyList<double> this[string key] =>
        _values.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"History has no '{key}'; keys: {string.Join(", ", _keys)}.");

    /// <summary>Whether <paramref name="key"/> was recorded.</summary>
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>Wall-clock seconds of each epoch (training plus validation).</summary>
    public List<double> EpochSeconds { get; } = [];

    /// <summary>Wall-clock seconds of each epoch's training steps alone (without validation).</summary>
    public List<double> TrainingSeconds { get; } = [];

    /// <summary>Number of epochs recorded.</summary>
    public int Epochs => EpochSeconds.Count;

    /// <summary>Why training ended early, or null when all epochs ran.</summary>
    public string? StopReason { get; internal set; }

    /// <summary>Appends one epoch's logs.</summary>
    public void Append(IReadOnlyDictionary<string, double> logs, double seconds, double? trainingSeconds = null)
    {
        TrainingSeconds.Add(trainingSeconds ?? seconds);
        ArgumentNullException.ThrowIfNull(logs);
        foreach (var (k, v) in logs)
        {
            if (!_values.TryGetValue(k, out var list))
            {
                list = [];
                _values[k] = list;
                _keys.Add(k);
            }
            list.Add(v);
        }
        EpochSeconds.Add(seconds);
    }
}
