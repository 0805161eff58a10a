using System.Text.Json.Nodes;
using Rnnx.Optimization;

namespace Rnnx.Saving;

/// <summary>
/// Optimizer configs (class, hyperparameters, learning-rate schedule) as JSON, for model files and checkpoints. Works
/// on the Core contract only (<see cref="ICheckpointableOptimizer.GetConfig"/>, <see cref="OptimizerConfig"/>); the
/// optimizer is re-created through <see cref="OptimizerRegistry"/>, so this assembly does not reference
/// <c>Rnnx.Optimizers</c>.
/// </summary>
/// <remarks>
/// Format: <c>{"class": "Nadam", "beta1": 0.9, ..., "learning_rate_schedule": {"class": "ExponentialDecay", ...}}</c>,
/// each setting a JSON number, boolean, string or array of numbers. The learning rate is not in it (it is saved with the
/// optimizer state).
/// </remarks>
internal static class OptimizerSerializer
{
    /// <summary>The optimizer's class and hyperparameters (not its state), or just its type name for an optimizer that cannot describe itself.</summary>
    public static JsonObject Describe(IOptimizer optimizer) =>
        optimizer is ICheckpointableOptimizer c
            ? ToJson(c.GetConfig())
            : new JsonObject { [OptimizerConfig.ClassKey] = optimizer.GetType().Name };

    private static JsonObject ToJson(OptimizerConfig config)
    {
        var o = new JsonObject { [OptimizerConfig.ClassKey] = config.ClassName };
        foreach (var (key, value) in config.Settings)
        {
            o[key] = value switch
            {
                double d => JsonValue.Create(d),
                long l => JsonValue.Create(l),
                bool b => JsonValue.Create(b),
                string s => JsonValue.Create(s),
                IReadOnlyList<double> a => new JsonArray(a.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
                IReadOnlyList<long> a => new JsonArray(a.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
                _ => throw new InvalidOperationException($"optimizer {config.ClassName}: setting '{key}' has an unsupported type {value.GetType().Name}"),
            };
        }
        if (config.LearningRateSchedule is { } schedule) o[OptimizerConfig.ScheduleKey] = ToJson(schedule);
        return o;
    }

    /// <summary>Reads a config written by <see cref="Describe"/>, with <paramref name="learningRate"/> as its fixed rate.</summary>
    /// <exception cref="ModelFormatException">The JSON is not a valid config.</exception>
    public static OptimizerConfig ToConfig(JsonObject o, double learningRate)
    {
        string cls = Str(o, OptimizerConfig.ClassKey);
        if (cls.Length == 0) throw new ModelFormatException("optimizer: 'class' is empty");
        var config = new OptimizerConfig(cls);
        try
        {
            config.LearningRate = learningRate;
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new ModelFormatException($"optimizer {cls}: the learning rate {learningRate} is not finite and non-negative");
        }
        foreach (var (key, node) in o)
        {
            if (key == OptimizerConfig.ClassKey) continue;
            if (key == OptimizerConfig.ScheduleKey)
            {
                if (node is null) continue;
                config.LearningRateSchedule = ToConfig(node as JsonObject ?? throw new ModelFormatException($"optimizer {cls}: learning_rate_schedule is not an object"), 0);
                continue;
            }
            if (key.Length == 0) throw new ModelFormatException($"optimizer {cls}: a setting has an empty name");
            switch (node)
            {
                case JsonValue v when v.TryGetValue(out string? s) && s is not null:
                    config.Set(key, s);
                    break;
                case JsonValue v when v.TryGetValue(out bool b):
                    config.Set(key, b);
                    break;
                case JsonValue v when Number(v) is { } n:
                    if (n is long l) config.Set(key, l); else config.Set(key, (double)n);
                    break;
                case JsonArray a:
                    var numbers = a.Select(e => e is JsonValue ev ? Number(ev) : null).ToList();
                    if (numbers.Any(n => n is null))
                        throw new ModelFormatException($"optimizer {cls}: setting '{key}' is an array that does not hold only numbers");
                    if (numbers.All(n => n is long)) config.Set(key, numbers.Select(n => (long)n!).ToArray());
                    else config.Set(key, numbers.Select(n => n is long l2 ? l2 : (double)n!).ToArray());
                    break;
                default:
                    throw new ModelFormatException(
                        $"optimizer {cls}: setting '{key}' is not a number, true/false, a string or an array of numbers (found {node?.ToJsonString() ?? "null"})");
            }
        }
        return config;
    }

    /// <summary>
    /// A JSON number as a <see cref="long"/> when it is written as an integer (so large integers stay exact), otherwise
    /// as a finite <see cref="double"/>; null when it is not a number. <c>-0</c> stays a double, keeping its sign.
    /// </summary>
    private static object? Number(JsonValue v)
    {
        if (v.TryGetValue(out long l) && !(l == 0 && v.ToJsonString().StartsWith('-'))) return l;
        if (v.TryGetValue(out double d) && double.IsFinite(d)) return d;
        return null;
    }

    /// <summary>
    /// Creates an optimizer from its description through <see cref="OptimizerRegistry"/>, with
    /// <paramref name="learningRate"/> as its fixed rate.
    /// </summary>
    /// <exception cref="ModelFormatException">Unknown class (the message says how to make it available) or bad values.</exception>
    public static IOptimizer Create(JsonObject o, double learningRate)
    {
        var config = ToConfig(o, learningRate);
        string cls = config.ClassName;
        if (!OptimizerRegistry.IsRegistered(cls))
            throw new ModelFormatException(
                $"{OptimizerRegistry.NotAvailableMessage(cls)} (or load with compile: false, compile the model yourself and call ModelIO.RestoreCheckpoint)");
        try
        {
            return OptimizerRegistry.Create(config);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"optimizer {cls}: {e.Message}", inner: e);
        }
    }

    internal static string Str(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out string? s) && s is not null ? s
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not a string");

    internal static double D(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not a finite number");

    internal static long L(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var n) && n is JsonValue v && v.TryGetValue(out long d) ? d
        : throw new ModelFormatException($"optimizer: '{key}' is missing or not an integer");
}
