using System.Globalization;
using System.Security.Cryptography;
using Rnnx.Data;

namespace Rnnx.Cli;

/// <summary>Summary statistics and a hash of a series, to tell whether a later series looks like the training one.</summary>
/// <param name="Count">Values.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Population standard deviation.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Sha256">SHA-256 of the float32 values (little-endian), first 16 hex digits.</param>
internal sealed record SeriesFingerprint(int Count, double Mean, double Std, double Min, double Max, string Sha256)
{
    /// <summary>The fingerprint of <paramref name="values"/>.</summary>
    public static SeriesFingerprint Of(ReadOnlySpan<float> values)
    {
        double mean = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values) { mean += v; min = Math.Min(min, v); max = Math.Max(max, v); }
        mean /= values.Length;
        double var = 0;
        foreach (var v in values) var += (v - mean) * (v - mean);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        return new SeriesFingerprint(values.Length, mean, Math.Sqrt(var / values.Length), min, max, hash);
    }

    /// <summary>Why <paramref name="other"/> looks unlike this series (its level or spread is far off), or null.</summary>
    public string? Unlike(SeriesFingerprint other)
    {
        double spread = Std > 0 ? Std : Math.Max(Math.Abs(Mean), 1) * 1e-3;
        double shift = Math.Abs(other.Mean - Mean) / spread;
        double ratio = other.Std / spread;
        if (shift > 3)
            return string.Create(CultureInfo.InvariantCulture, $"its mean {other.Mean:G5} is {shift:F1} training standard deviations from the training series' mean {Mean:G5}");
        if (ratio > 5 || (other.Count > 1 && ratio < 0.2))
            return string.Create(CultureInfo.InvariantCulture, $"its standard deviation {other.Std:G5} is {ratio:G3} times the training series' {Std:G5}");
        return null;
    }
}

/// <summary>
/// What <c>rnnx train</c> saves with every model and checkpoint (user metadata keys <c>cli.*</c>, documented in
/// docs/saving-and-deploying.md), and its validation when read back: a model file is an input like any other.
/// </summary>
internal sealed record ModelMetadata
{
    /// <summary>The metadata key prefix.</summary>
    public const string Prefix = "cli.";

    private const string KColumn = "cli.column", KWindow = "cli.window", KHorizon = "cli.horizon", KMean = "cli.mean", KStd = "cli.std",
        KArch = "cli.arch", KSource = "cli.source", KScaling = "cli.scaling", KValidation = "cli.validation", KBatch = "cli.batch_size",
        KLearningRate = "cli.learning_rate", KSeed = "cli.seed", KDateColumn = "cli.date_column", KFrequency = "cli.frequency",
        KFill = "cli.fill", KNoHeader = "cli.no_header", KCount = "cli.series.count", KSeriesMean = "cli.series.mean",
        KSeriesStd = "cli.series.std", KMin = "cli.series.min", KMax = "cli.series.max", KHash = "cli.series.sha256",
        KTest = "cli.test", KSeason = "cli.season", KTransform = "cli.transform", KLambda = "cli.box_cox_lambda",
        KEarlyStopping = "cli.early_stopping", KPatience = "cli.patience";

    /// <summary>The value column.</summary>
    public required string Column { get; init; }

    /// <summary>Input steps.</summary>
    public required int Window { get; init; }

    /// <summary>Steps forecast at once.</summary>
    public required int Horizon { get; init; }

    /// <summary>The scaler's center: the training part's mean for standard scaling, 0 for the per-window scalings.</summary>
    public required double Mean { get; init; }

    /// <summary>The scaler's scale (positive): the training std (standard) or the training one-step-difference std (the others).</summary>
    public required double Std { get; init; }

    /// <summary>The architecture name.</summary>
    public string? Arch { get; init; }

    /// <summary>The CSV file name trained on.</summary>
    public string? Source { get; init; }

    /// <summary>Validation share.</summary>
    public double? Validation { get; init; }

    /// <summary>Batch size.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Learning rate.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Seed.</summary>
    public int? Seed { get; init; }

    /// <summary>The date column, or null.</summary>
    public string? DateColumn { get; init; }

    /// <summary>The dates' frequency, or null.</summary>
    public Frequency? Frequency { get; init; }

    /// <summary>How gaps were filled.</summary>
    public FillMode Fill { get; init; }

    /// <summary>Whether the CSV had no header.</summary>
    public bool NoHeader { get; init; }

    /// <summary>The training series' fingerprint, or null.</summary>
    public SeriesFingerprint? Series { get; init; }

    /// <summary>How inputs and targets were scaled (<see cref="Mean"/> is the scaler's center, <see cref="Std"/> its scale).</summary>
    public SeriesScaling Scaling { get; init; } = SeriesScaling.Standard;

    /// <summary>Share of the series (at its end) kept as the test part, or null for a model trained without one.</summary>
    public double? Test { get; init; }

    /// <summary>The seasonal-naive baseline's season used in training's report, or null.</summary>
    public int? Season { get; init; }

    /// <summary>The transform applied before scaling (<see cref="Mean"/> and <see cref="Std"/> are then of the transformed values).</summary>
    public SeriesTransform Transform { get; init; } = SeriesTransform.None;

    /// <summary>Whether training used early stopping, or null when not recorded.</summary>
    public bool? EarlyStopping { get; init; }

    /// <summary>Early stopping's patience, or null.</summary>
    public int? Patience { get; init; }

    /// <summary>The scaler the model was trained with.</summary>
    public SeriesScaler Scaler => new(Scaling, Mean, Std);

    /// <summary>The metadata entries to save.</summary>
    public Dictionary<string, string> ToDictionary()
    {
        var d = new Dictionary<string, string>
        {
            [KColumn] = Column,
            [KWindow] = I(Window),
            [KHorizon] = I(Horizon),
            [KMean] = R(Mean),
            [KStd] = R(Std),
            [KScaling] = SeriesScaler.NameOf(Scaling),
            [KFill] = Fill.ToString().ToLowerInvariant(),
            [KNoHeader] = NoHeader ? "true" : "false",
        };
        d[KTransform] = Transform.Name;
        if (Transform.Kind == SeriesTransformKind.BoxCox) d[KLambda] = R(Transform.Lambda);
        if (EarlyStopping is bool es) d[KEarlyStopping] = es ? "true" : "false";
        if (Patience is int pa) d[KPatience] = I(pa);
        if (Arch is not null) d[KArch] = Arch;
        if (Source is not null) d[KSource] = Source;
        if (Validation is double v) d[KValidation] = R(v);
        if (Test is double t) d[KTest] = R(t);
        if (Season is int season) d[KSeason] = I(season);
        if (BatchSize is int b) d[KBatch] = I(b);
        if (LearningRate is double lr) d[KLearningRate] = R(lr);
        if (Seed is int s) d[KSeed] = I(s);
        if (DateColumn is not null) d[KDateColumn] = DateColumn;
        if (Frequency is { } f)
            d[KFrequency] = f.Months > 0 ? $"months:{I(f.Months)}{(f.MonthEnd ? ":end" : "")}" : $"ticks:{f.Step.Ticks.ToString(CultureInfo.InvariantCulture)}";
        if (Series is { } fp)
        {
            d[KCount] = I(fp.Count);
            d[KSeriesMean] = R(fp.Mean);
            d[KSeriesStd] = R(fp.Std);
            d[KMin] = R(fp.Min);
            d[KMax] = R(fp.Max);
            d[KHash] = fp.Sha256;
        }
        return d;
    }

    /// <summary>
    /// Reads and validates the <c>cli.*</c> metadata of <paramref name="file"/>; null when the file has none (it was
    /// not written by <c>rnnx train</c>).
    /// </summary>
    /// <exception cref="CliException">A value is missing, malformed or out of range (exit 2, naming the key).</exception>
    public static ModelMetadata? Read(IReadOnlyDictionary<string, string> m, string file)
    {
        if (!m.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal))) return null;
        string Need(string key) => m.TryGetValue(key, out var v) ? v : throw Bad(file, key, null, "is missing");
        int Int(string key, string text, int min, int max) =>
            StrictNumber.TryParseInt(text, out int n) && n >= min && n <= max ? n : throw Bad(file, key, text, $"is not an integer in [{I(min)}, {I(max)}]");
        double Real(string key, string text, bool positive) =>
            StrictNumber.TryParseDouble(text, out double d) && double.IsFinite(d) && (!positive || d > 0)
                ? d : throw Bad(file, key, text, positive ? "is not a finite positive number" : "is not a finite number");
        int? OptInt(string key, int min, int max) => m.TryGetValue(key, out var t) ? Int(key, t, min, max) : null;
        double? OptReal(string key) => m.TryGetValue(key, out var t) ? Real(key, t, true) : null;

        string column = Need(KColumn);
        if (column.Length == 0 || column.Length > 1000) throw Bad(file, KColumn, column, "is not a column name");
        var scalingMethod = SeriesScaling.Standard;
        if (m.TryGetValue(KScaling, out var scaling))
        {
            try { scalingMethod = SeriesScaler.Parse(scaling); }
            catch (ArgumentException) { throw Bad(file, KScaling, scaling, "is not a scaling this version knows (standard, last_value, window_mean, difference)"); }
        }
        var fill = m.GetValueOrDefault(KFill, "none") switch
        {
            "none" => FillMode.None,
            "previous" => FillMode.Previous,
            "linear" => FillMode.Linear,
            var other => throw Bad(file, KFill, other, "is not none, previous or linear"),
        };
        bool noHeader = m.GetValueOrDefault(KNoHeader, "false") switch
        {
            "false" => false,
            "true" => true,
            var other => throw Bad(file, KNoHeader, other, "is not true or false"),
        };
        var transform = SeriesTransform.None;
        if (m.TryGetValue(KTransform, out var transformName))
        {
            SeriesTransformKind kind;
            try { kind = SeriesTransform.ParseKind(transformName); }
            catch (ArgumentException) { throw Bad(file, KTransform, transformName, "is not a transform this version knows (none, log, box-cox)"); }
            transform = kind switch
            {
                SeriesTransformKind.Log => SeriesTransform.Log,
                SeriesTransformKind.BoxCox => Real(KLambda, Need(KLambda), false) is var l && l is >= SeriesTransform.MinLambda and <= SeriesTransform.MaxLambda
                    ? SeriesTransform.BoxCox(l) : throw Bad(file, KLambda, m[KLambda], "is not between -1 and 2"),
                _ => SeriesTransform.None,
            };
        }
        if (transform.Kind != SeriesTransformKind.BoxCox && m.TryGetValue(KLambda, out var strayLambda))
            throw Bad(file, KLambda, strayLambda, $"is set but the transform is {transform.Name}");
        bool? earlyStopping = m.GetValueOrDefault(KEarlyStopping) switch
        {
            null => null,
            "false" => false,
            "true" => true,
            var other => throw Bad(file, KEarlyStopping, other, "is not true or false"),
        };
        SeriesFingerprint? fp = null;
        if (m.TryGetValue(KCount, out var count))
        {
            string hash = Need(KHash);
            if (hash.Length != 16 || !hash.All(char.IsAsciiHexDigitLower)) throw Bad(file, KHash, hash, "is not 16 lowercase hex digits");
            fp = new SeriesFingerprint(Int(KCount, count, 1, int.MaxValue), Real(KSeriesMean, Need(KSeriesMean), false),
                Real(KSeriesStd, Need(KSeriesStd), false), Real(KMin, Need(KMin), false), Real(KMax, Need(KMax), false), hash);
            if (fp.Std < 0) throw Bad(file, KSeriesStd, Need(KSeriesStd), "is negative");
        }
        return new ModelMetadata
        {
            Column = column,
            Window = Int(KWindow, Need(KWindow), 1, Limits.MaxWindow),
            Horizon = Int(KHorizon, Need(KHorizon), 1, Limits.MaxHorizon),
            Mean = Real(KMean, Need(KMean), false),
            Std = Real(KStd, Need(KStd), true),
            Arch = m.TryGetValue(KArch, out var arch) ? (RnnxCommandLine.Architectures.Contains(arch) ? arch : throw Bad(file, KArch, arch, "is not an architecture of rnnx train")) : null,
            Source = m.GetValueOrDefault(KSource),
            Validation = m.TryGetValue(KValidation, out var vs) ? Real(KValidation, vs, true) is var v && v is >= 0.01 and <= 0.9 ? v : throw Bad(file, KValidation, vs, "is not in [0.01, 0.9]") : null,
            BatchSize = OptInt(KBatch, 1, Limits.MaxBatchSize),
            LearningRate = OptReal(KLearningRate),
            Seed = OptInt(KSeed, 0, int.MaxValue),
            DateColumn = m.GetValueOrDefault(KDateColumn),
            Frequency = m.TryGetValue(KFrequency, out var fs) ? ParseFrequency(fs) ?? throw Bad(file, KFrequency, fs, "is not months:N[:end] or ticks:N") : null,
            Fill = fill,
            NoHeader = noHeader,
            Series = fp,
            Scaling = scalingMethod,
            Test = m.TryGetValue(KTest, out var ts) ? Real(KTest, ts, true) is var tv && tv is >= 0.01 and <= 0.9 ? tv : throw Bad(file, KTest, ts, "is not in [0.01, 0.9]") : null,
            Season = OptInt(KSeason, 1, int.MaxValue),
            Transform = transform,
            EarlyStopping = earlyStopping,
            Patience = OptInt(KPatience, 0, Limits.MaxPatience),
        };
    }

    private static Frequency? ParseFrequency(string text)
    {
        var parts = text.Split(':');
        if (parts is ["months", var n, ..] && parts.Length <= 3 && StrictNumber.TryParseInt(n, out int months) && months is > 0 and <= 12000
            && (parts.Length == 2 || parts[2] == "end"))
            return new Frequency(months, TimeSpan.Zero, parts.Length == 3);
        if (parts is ["ticks", var t] && long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long ticks) && ticks > 0 && ticks <= TimeSpan.TicksPerDay * 366 * 100)
            return new Frequency(0, TimeSpan.FromTicks(ticks));
        return null;
    }

    private static CliException Bad(string file, string key, string? value, string what) =>
        new($"{Path.GetFileName(file)}: model metadata '{key}'{(value is null ? "" : $" = '{CliOptions.Short(value)}'")} {what}; the file was not written by this version of 'rnnx train' or was altered");

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
