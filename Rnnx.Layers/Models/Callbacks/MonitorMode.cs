namespace Rnnx.Models;

/// <summary>Whether a monitored value improves by decreasing or increasing (Keras's <c>mode</c>).</summary>
public enum MonitorMode
{
    /// <summary>Max when the name contains <c>acc</c>, otherwise min (Keras's rule).</summary>
    Auto,

    /// <summary>Lower is better (losses, errors).</summary>
    Min,

    /// <summary>Higher is better (accuracies).</summary>
    Max,
}

/// <summary>Shared helpers of the monitoring callbacks.</summary>
internal static class Monitoring
{
    public static bool IsMax(string monitor, MonitorMode mode) => mode switch
    {
        MonitorMode.Max => true,
        MonitorMode.Min => false,
        _ => monitor.Contains("acc", StringComparison.Ordinal),
    };

    /// <summary>The monitored value, or a clear error naming the keys that exist.</summary>
    public static double Get(string callback, string monitor, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue(monitor, out double v)) return v;
        string hint = monitor.StartsWith("val_", StringComparison.Ordinal) ? " (pass validationData to Fit, or monitor a training value)" : "";
        throw new InvalidOperationException(
            $"{callback}: the monitored value '{monitor}' is not in the epoch logs{hint}; available: {string.Join(", ", logs.Keys)}.");
    }
}
