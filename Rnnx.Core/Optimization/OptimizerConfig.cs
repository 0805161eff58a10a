using System.Collections.ObjectModel;
using System.Globalization;

namespace Rnnx.Optimization;

/// <summary>
/// The configuration of an optimizer (or of a learning-rate schedule) as saved in model files: a class name, the fixed
/// learning rate, named settings (numbers, booleans, strings, arrays of numbers) and, for an optimizer, the
/// description of its learning-rate schedule. <see cref="ICheckpointableOptimizer.GetConfig"/> produces one when a
/// model is saved; the factory registered with <see cref="OptimizerRegistry.Register"/> reads it back with the
/// <c>Get</c> methods when the model is loaded.
/// </summary>
/// <remarks>
/// <para>Settings keep the order in which they were set. A setting's value is a <see cref="double"/>,
/// <see cref="long"/>, <see cref="bool"/>, <see cref="string"/>, <see cref="IReadOnlyList{T}"/> of
/// <see cref="double"/> or <see cref="IReadOnlyList{T}"/> of <see cref="long"/>. Numbers read from a file may come
/// back as <see cref="long"/> when they are integral: <see cref="GetDouble(string)"/> accepts both.</para>
/// <para>The learning rate is not a setting: a file keeps it with the optimizer's state, and the loader assigns it to
/// <see cref="LearningRate"/> before calling the factory. The names <c>class</c> and <c>learning_rate_schedule</c>
/// are reserved.</para>
/// <para>A missing or mistyped value read by a <c>Get</c> method raises a <see cref="FormatException"/> naming the key
/// (the loader reports it as a malformed file).</para>
/// </remarks>
/// <example>
/// <code>
/// // in a custom optimizer:
/// public OptimizerConfig GetConfig() =&gt; new OptimizerConfig("Lion") { LearningRate = _lr }.Set("beta1", Beta1).Set("beta2", Beta2);
/// // once, before loading:
/// OptimizerRegistry.Register("Lion", c =&gt; new Lion(c.LearningRate, c.GetDouble("beta1"), c.GetDouble("beta2")));
/// </code>
/// </example>
public sealed class OptimizerConfig
{
    /// <summary>The reserved key under which files store <see cref="ClassName"/>.</summary>
    public const string ClassKey = "class";

    /// <summary>The reserved key under which files store <see cref="LearningRateSchedule"/>.</summary>
    public const string ScheduleKey = "learning_rate_schedule";

    private readonly List<string> _keys = [];
    private readonly Dictionary<string, object> _values = new(StringComparer.Ordinal);
    private double _learningRate = 0.001;

    /// <summary>Creates an empty config for the class <paramref name="className"/>.</summary>
    /// <param name="className">The optimizer's (or schedule's) class name, for example <c>Nadam</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="className"/> is null or empty.</exception>
    public OptimizerConfig(string className)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ClassName = className;
    }

    /// <summary>The class name the optimizer (or schedule) is saved under and looked up by in <see cref="OptimizerRegistry"/>.</summary>
    public string ClassName { get; }

    /// <summary>The fixed learning rate to construct the optimizer with (default 0.001); unused for a schedule.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!double.IsFinite(value) || value < 0)
                throw new ArgumentOutOfRangeException(nameof(value), value, "OptimizerConfig: the learning rate must be finite and non-negative.");
            _learningRate = value;
        }
    }

    /// <summary>The optimizer's learning-rate schedule (its class name and settings), or null for a fixed learning rate.</summary>
    public OptimizerConfig? LearningRateSchedule { get; set; }

    /// <summary>The setting names, in the order they were set.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The settings, in the order they were set (see the remarks for the value types).</summary>
    public IEnumerable<KeyValuePair<string, object>> Settings => _keys.Select(k => new KeyValuePair<string, object>(k, _values[k]));

    /// <summary>Whether the setting <paramref name="key"/> is present.</summary>
    /// <param name="key">The setting name.</param>
    public bool Contains(string key) => key is not null && _values.ContainsKey(key);

    /// <summary>The raw value of a setting, if present (see the remarks for the value types).</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="value">The value, or null when absent.</param>
    /// <returns>Whether the setting is present.</returns>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out object? value)
    {
        value = null;
        return key is not null && _values.TryGetValue(key, out value);
    }

    // ------------------------------------------------------------------ setters

    /// <summary>Sets (or replaces) a number; it must be finite, as files store it in JSON.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved, or the value is not finite.</exception>
    public OptimizerConfig Set(string key, double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"OptimizerConfig {ClassName}: '{key}' must be finite, got {value}.", nameof(value));
        return Put(key, value);
    }

    /// <summary>Sets (or replaces) an integer.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved.</exception>
    public OptimizerConfig Set(string key, long value) => Put(key, value);

    /// <summary>Sets (or replaces) a boolean.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="value">The value.</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved.</exception>
    public OptimizerConfig Set(string key, bool value) => Put(key, value);

    /// <summary>Sets (or replaces) a string.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="value">The value (not null).</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public OptimizerConfig Set(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Put(key, value);
    }

    /// <summary>Sets (or replaces) an array of numbers (copied; each must be finite).</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="values">The values.</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved, or a value is not finite.</exception>
    public OptimizerConfig Set(string key, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double[] copy = [.. values];
        foreach (double v in copy)
            if (!double.IsFinite(v)) throw new ArgumentException($"OptimizerConfig {ClassName}: '{key}' must hold finite numbers, got {v}.", nameof(values));
        return Put(key, new ReadOnlyCollection<double>(copy));
    }

    /// <summary>Sets (or replaces) an array of integers (copied).</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="values">The values.</param>
    /// <returns>This config.</returns>
    /// <exception cref="ArgumentException">The key is empty or reserved.</exception>
    public OptimizerConfig Set(string key, IReadOnlyList<long> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Put(key, new ReadOnlyCollection<long>([.. values]));
    }

    private OptimizerConfig Put(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key is ClassKey or ScheduleKey)
            throw new ArgumentException($"OptimizerConfig {ClassName}: '{key}' is a reserved name; use ClassName or LearningRateSchedule.", nameof(key));
        if (!_values.ContainsKey(key)) _keys.Add(key);
        _values[key] = value;
        return this;
    }

    // ------------------------------------------------------------------ getters

    /// <summary>A required number (an integer setting is converted).</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not a number.</exception>
    public double GetDouble(string key) => Find(key, "a finite number") switch
    {
        double d => d,
        long l => l,
        var other => throw Bad(key, "a finite number", other),
    };

    /// <summary>An optional number; <paramref name="defaultValue"/> when absent.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <exception cref="FormatException">Present but not a number.</exception>
    public double GetDouble(string key, double defaultValue) => Contains(key) ? GetDouble(key) : defaultValue;

    /// <summary>A required integer.</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not an integer.</exception>
    public long GetLong(string key) => Find(key, "an integer") is long l ? l : throw Bad(key, "an integer", _values[key]);

    /// <summary>An optional integer; <paramref name="defaultValue"/> when absent.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <exception cref="FormatException">Present but not an integer.</exception>
    public long GetLong(string key, long defaultValue) => Contains(key) ? GetLong(key) : defaultValue;

    /// <summary>A required boolean.</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not true/false.</exception>
    public bool GetBool(string key) => Find(key, "true or false") is bool b ? b : throw Bad(key, "true or false", _values[key]);

    /// <summary>An optional boolean; <paramref name="defaultValue"/> when absent.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <exception cref="FormatException">Present but not true/false.</exception>
    public bool GetBool(string key, bool defaultValue) => Contains(key) ? GetBool(key) : defaultValue;

    /// <summary>A required string.</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not a string.</exception>
    public string GetString(string key) => Find(key, "a string") is string s ? s : throw Bad(key, "a string", _values[key]);

    /// <summary>An optional string; <paramref name="defaultValue"/> when absent.</summary>
    /// <param name="key">The setting name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <exception cref="FormatException">Present but not a string.</exception>
    public string? GetString(string key, string? defaultValue) => Contains(key) ? GetString(key) : defaultValue;

    /// <summary>A required array of numbers (integers are converted), as a new array.</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not an array of numbers.</exception>
    public double[] GetDoubleArray(string key) => Find(key, "an array of numbers") switch
    {
        IReadOnlyList<double> d => [.. d],
        IReadOnlyList<long> l => [.. l.Select(v => (double)v)],
        var other => throw Bad(key, "an array of numbers", other),
    };

    /// <summary>A required array of integers, as a new array.</summary>
    /// <param name="key">The setting name.</param>
    /// <exception cref="FormatException">Missing or not an array of integers.</exception>
    public long[] GetLongArray(string key) => Find(key, "an array of integers") switch
    {
        IReadOnlyList<long> l => [.. l],
        IReadOnlyList<double> { Count: 0 } => [],
        var other => throw Bad(key, "an array of integers", other),
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"{ClassName}({string.Join(", ", Settings.Select(p => $"{p.Key}={Show(p.Value)}"))})";

    private object Find(string key, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return _values.TryGetValue(key, out var v) ? v : throw new FormatException($"'{key}' ({what}) is missing");
    }

    private static FormatException Bad(string key, string what, object found) => new($"'{key}' is not {what} (found {Show(found)})");

    private static string Show(object value) => value switch
    {
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        IReadOnlyList<double> a => "[" + string.Join(", ", a.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]",
        IReadOnlyList<long> a => "[" + string.Join(", ", a.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]",
        _ => value.ToString() ?? "",
    };
}
