using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Rnnx.Data;

namespace Rnnx.Cli;

/// <summary>
/// Option factories with the command line's conventions: integers and numbers parsed strictly and range-checked in
/// the parser, so that every bad value is one message naming the option and its limits.
/// </summary>
internal static class CliOptions
{
    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>]; null when absent.</summary>
    public static Option<int?> Int(string name, string description, int min, int max, string helpName = "N") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => ParseInt(r, name, min, max),
    };

    /// <summary>A number option in [<paramref name="min"/>, <paramref name="max"/>]; null when absent.</summary>
    public static Option<double?> Real(string name, string description, double min, double max, string helpName = "F") => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r =>
        {
            string s = r.Tokens[0].Value;
            if (!StrictNumber.TryParseDouble(s, out double v) || !double.IsFinite(v))
            {
                r.AddError($"option '{name}' expects a number, got '{Short(s)}'");
                return null;
            }
            if (v < min || v > max)
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"option '{name}' must be between {min} and {max}, got {s}"));
                return null;
            }
            return v;
        },
    };

    /// <summary>A non-empty text option (a path, a column name); null when absent.</summary>
    public static Option<string?> Text(string name, string description, string helpName, bool required = false) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = required,
        CustomParser = r =>
        {
            string s = r.Tokens[0].Value;
            if (string.IsNullOrWhiteSpace(s))
            {
                r.AddError($"option '{name}' needs a non-empty value");
                return null;
            }
            if (s.Contains('\0'))
            {
                r.AddError($"option '{name}' contains a NUL character");
                return null;
            }
            return s;
        },
    };

    /// <summary>A text option restricted to <paramref name="choices"/> (offered as completions).</summary>
    public static Option<string?> Choice(string name, string description, string[] choices)
    {
        var o = new Option<string?>(name)
        {
            Description = description,
            HelpName = string.Join('|', choices),
            CustomParser = r =>
            {
                string s = r.Tokens[0].Value;
                if (choices.Contains(s)) return s;
                r.AddError($"option '{name}' must be one of {string.Join(", ", choices)}, got '{Short(s)}'");
                return null;
            },
        };
        o.CompletionSources.Add(choices);
        return o;
    }

    /// <summary>A flag (no value).</summary>
    public static Option<bool> Flag(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    private static int? ParseInt(ArgumentResult r, string name, int min, int max)
    {
        string s = r.Tokens[0].Value;
        if (!StrictNumber.TryParseInt(s, out int n))
        {
            // Digits that overflow are still an integer: say which limit they break.
            bool digits = s.Length > 0 && s.TrimStart('+', '-').Length > 0 && s.TrimStart('+', '-').All(char.IsAsciiDigit);
            r.AddError(digits
                ? string.Create(CultureInfo.InvariantCulture, $"option '{name}' must be between {min} and {max}, got {Short(s)}")
                : $"option '{name}' expects an integer, got '{Short(s)}'");
            return null;
        }
        if (n < min || n > max)
        {
            r.AddError(max == int.MaxValue
                ? string.Create(CultureInfo.InvariantCulture, $"option '{name}' must be at least {min}, got {n}")
                : string.Create(CultureInfo.InvariantCulture, $"option '{name}' must be between {min} and {max}, got {n}"));
            return null;
        }
        return n;
    }

    /// <summary>A value cut to a length that fits in a one-line message.</summary>
    public static string Short(string s)
    {
        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).Take(60).ToArray());
        return s.Length <= 60 ? clean : clean[..57] + "...";
    }
}
