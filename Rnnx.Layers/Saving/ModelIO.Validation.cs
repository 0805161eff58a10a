using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Rnnx.Saving;

/// <summary>The checks shared by every entry point that reads a file, and the conversion of any failure into a <see cref="ModelFormatException"/>.</summary>
public static partial class ModelIO
{
    /// <summary>The version of the file format this Rnnx writes and reads (<c>rnnx.version</c>).</summary>
    public const int FormatVersion = 1;

    private static ModelLoadOptions Checked(ModelLoadOptions? options)
    {
        options ??= ModelLoadOptions.Default;
        options.Validate();
        return options;
    }

    private static SafeTensorsFile Read(string path, ModelLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return SafeTensorsFile.Read(path, options);
        }
        catch (ModelFormatException e)
        {
            throw e.WithPath(path);
        }
    }

    private static SafeTensorsFile Parse(byte[] bytes, string name, ModelLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            return SafeTensorsFile.Parse(bytes, options, name);
        }
        catch (ModelFormatException e)
        {
            throw e.WithPath(name);
        }
    }

    /// <summary>
    /// Runs a validation step, attaching the file name to its <see cref="ModelFormatException"/>. Any other failure
    /// while interpreting the file's content (a factory refusing a config value, arithmetic on a declared size) is a
    /// malformed file too.
    /// </summary>
    private static T Guard<T>(string path, Func<T> f)
    {
        try
        {
            return f();
        }
        catch (ModelFormatException e)
        {
            throw e.WithPath(path);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException
            or ArithmeticException or InvalidCastException or KeyNotFoundException or IndexOutOfRangeException or NotSupportedException)
        {
            throw new ModelFormatException($"the file's content is invalid: {e.Message}", path, inner: e);
        }
    }

    /// <summary>
    /// Checks <c>rnnx.format</c> and <c>rnnx.version</c>: absent together (a safetensors file from another tool, which
    /// then holds no other <c>rnnx.</c> entry), or <c>model</c>/<c>weights</c> and this version (a file without
    /// <c>rnnx.version</c> is version 1); a higher version is reported as written by a newer Rnnx.
    /// </summary>
    private static void CheckFormat(SafeTensorsFile file)
    {
        bool hasFormat = file.Metadata.TryGetValue(FormatKey, out var format);
        bool hasVersion = file.Metadata.TryGetValue(VersionKey, out var version);
        if (!hasFormat && !hasVersion)
        {
            foreach (var key in file.Metadata.Keys)
                if (key.StartsWith("rnnx.", StringComparison.Ordinal) && key != SafeTensorsFile.ChecksumKey)
                    throw new ModelFormatException($"the file has the Rnnx entry '{key}' but no '{FormatKey}'", offset: 8);
            return;
        }
        if (!hasVersion) version = "1";
        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < 1)
            throw new ModelFormatException($"'{VersionKey}' is '{Clip(version!)}', not a positive integer", offset: 8);
        if (v > FormatVersion)
            throw new ModelFormatException($"the file was written by a newer Rnnx (format version {v}); this Rnnx reads version {FormatVersion}: update Rnnx to load it", offset: 8);
        if (v != FormatVersion) throw new ModelFormatException($"the file's format version {v} is not supported (this Rnnx reads version {FormatVersion})", offset: 8);
        if (format is not ("model" or "weights"))
            throw new ModelFormatException($"'{FormatKey}' is '{Clip(format ?? "")}', not 'model' or 'weights'", offset: 8);
    }

    /// <summary>Refuses NaN, infinite and oversized values unless <see cref="ModelLoadOptions.AllowNonFiniteValues"/> is set.</summary>
    private static void CheckValues(SafeTensorsFile file, SafeTensorEntry e, string what, ModelLoadOptions options)
    {
        if (options.AllowNonFiniteValues) return;
        var bytes = file.Data(e);
        double max = options.MaxAbsoluteValue;
        int index = -1;
        double bad = 0;
        if (e.DType == DType.Float32)
        {
            var values = MemoryMarshal.Cast<byte, float>(bytes);
            for (int i = 0; i < values.Length; i++)
                if (!(Math.Abs(values[i]) <= max)) { index = i; bad = values[i]; break; }
        }
        else
        {
            var values = MemoryMarshal.Cast<byte, double>(bytes);
            for (int i = 0; i < values.Length; i++)
                if (!(Math.Abs(values[i]) <= max)) { index = i; bad = values[i]; break; }
        }
        if (index >= 0)
            throw new ModelFormatException(
                $"the {what} '{e.Name}' holds {bad.ToString(CultureInfo.InvariantCulture)} at index {index}; values must be finite with a magnitude of at most {max.ToString(CultureInfo.InvariantCulture)} " +
                "(ModelLoadOptions.MaxAbsoluteValue; ModelLoadOptions.AllowNonFiniteValues accepts them for debugging)",
                offset: file.FileOffset(e) + (long)index * (e.DType == DType.Float32 ? 4 : 8));
    }

    /// <summary>Refuses keys other than <paramref name="allowed"/> in a JSON object of the file's metadata.</summary>
    private static void CheckKeys(JsonObject o, string what, params ReadOnlySpan<string> allowed)
    {
        foreach (var (key, _) in o)
        {
            bool known = false;
            foreach (var a in allowed) known |= a == key;
            if (!known) throw new ModelFormatException($"{what}: unknown key '{Clip(key)}' (expected {string.Join(", ", allowed.ToArray())})");
        }
    }

    /// <summary>The weight values (not optimizer slots) the file holds: no loaded architecture may need more.</summary>
    private static long WeightValues(SafeTensorsFile file)
    {
        long total = 0;
        foreach (var t in file.Tensors)
            if (!t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !t.Name.StartsWith(StatePrefix, StringComparison.Ordinal))
                total += (t.End - t.Begin) / (t.DType == DType.Float32 ? 4 : 8);
        return total;
    }

    private static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
