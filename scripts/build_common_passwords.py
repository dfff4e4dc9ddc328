"""Write rallies/data/common-passwords.txt: well-known leaked passwords and their usual variants.

The seed words are the passwords that top every published breach analysis (the RockYou leak,
SecLists' 10k/100k lists, the UK NCSC "100k most common" list, yearly "worst passwords" reports),
written down from those well-known lists rather than copied from any one of them. The script adds
the variants people actually use (a year, "123", "!" ...), which is what those lists are mostly
made of. Re-run it after editing the seeds: `python scripts/build_common_passwords.py`.
"""

from __future__ import annotations

from pathlib import Path

_SEED_TEXT = """
123456 123456789 12345678 12345 1234567 1234567890 111111 000000 123123 654321 666666 121212 112233
123321 987654321 1234 qwerty qwertyuiop qwerty123 qwertyui asdfgh asdfghjkl asdfasdf zxcvbn zxcvbnm
1q2w3e 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx zaq1zaq1 qazwsx qazwsxedc 1qaz2wsx3edc
q1w2e3r4 q1w2e3r4t5 abc123 abcd1234 abc12345 a1b2c3 a1b2c3d4 aaaaaa 1111111111 0987654321 147258369
159753 159357 753951 147258 123654 789456 456789 789456123 741852963 963852741 11223344 12341234
password passw0rd p@ssword p@ssw0rd pa55word pa$$word password1 password12 password123 mypassword
letmein welcome welcome1 changeme secret admin administrator root toor login guest master
iloveyou loveyou lovely love123 ihateyou trustno1 whatever nothing princess princesa sunshine
dragon monkey football baseball basketball soccer hockey tennis golf boxing shadow superman batman
spiderman ironman pokemon pikachu naruto starwars matrix jordan jordan23 michael michelle jessica
ashley daniel charlie thomas robert jennifer hunter ranger buster tigger soccer1 harley hannah
nicole samantha anthony andrew joshua matthew jonathan william chelsea arsenal liverpool
manchester barcelona realmadrid juventus chicago yankees cowboys steelers packers lakers
computer internet freedom liberty america patriot eagle eagles falcon phoenix killer pepper ginger
cookie cheese chocolate banana orange apple peanut butter summer winter spring autumn flower
purple yellow silver golden diamond angel angels heaven jesus christ blessed lovers forever
family friends friend maggie bailey buddy molly daisy lucky rocky max sparky coffee killer
biteme fuckyou fuckoff asshole bitch696 sexy sexygirl hottie babygirl baby babyboy mustang
corvette ferrari porsche mercedes camaro harley ducati yamaha thunder blaster hello hello123
helloworld test test123 testing tester demo default user username access access14 secret123
qwe123 asd123 zxc123 123qwe 123abc 1a2b3c abc abcdef abcdefg abcdefgh qwertz azerty
loveme lovelove iloveu iloveyou1 iloveyou2 mylove sweetheart sweetie darling beautiful pretty
angel1 jasmine justin justinbieber taylor taylorswift beyonce rihanna eminem metallica nirvana
slipknot linkinpark 50cent tupac snoopy scooby garfield mickey minnie donald goofy simpsons
bart homer spongebob patrick dolphin tiger lion wolf bear panther jaguar cobra viper scorpion
dragon1 dragons wizard merlin gandalf frodo hobbit zelda mario luigi sonic tetris minecraft
fortnite roblox halo counterstrike warcraft starcraft diablo skyrim overwatch gamer gaming
player player1 superstar rockstar rocknroll music guitar piano drummer singer dancer
monkey1 qwerty1 letmein1 welcome123 admin123 admin1234 root123 pass pass123 pass1234 passpass
abcabc abc123456 password1234 1qw23e 1234qwer qwer1234 asdf1234 zxcv1234 1234asdf 4321
samsung iphone android nokia apple123 google microsoft windows linux ubuntu facebook twitter
instagram youtube netflix spotify amazon paypal yahoo hotmail gmail outlook
newyork london paris berlin tokyo moscow madrid rome texas florida california
soccer12 football1 baseball1 basketball1 hockey1 lakers24 kobe24 lebron23 messi10 ronaldo7
q1w2e3 w1w2w3 z1x2c3 1z2x3c 2wsx3edc 3edc4rfv 4rfv5tgb 5tgb6yhn qweasd qweasdzxc qweasdzxc123
asdqwe123 zxcasdqwe 1qaz2wsx3edc4rfv !qaz2wsx !qaz@wsx 1q2w3e4r5t6y 1q2w3e4r5t6y7u8i
qwertyu qwertyuio asdfg asdfghj asdfghjk zxcvb zxcvbn123 poiuytrewq lkjhgfdsa mnbvcxz
princess1 sunshine1 shadow1 master1 superman1 batman1 michael1 jessica1 charlie1 freedom1
trustme believe faith hope peace grace miracle destiny dreamer dreams imagine infinity
secret1 private confidential security secure safety protect shield guardian fortress
money money123 cash dollar million rich lucky7 lucky13 winner winning success victory
hunter2 letmein2 bigdaddy bigboss boss daddy mommy mother father brother sister
abc123abc 12qwaszx 123qweasd 123qweasdzxc 1qa2ws3ed qazxsw edcrfv rfvtgb tgbyhn
starwars1 jedi yoda skywalker vader chewbacca leia obiwan r2d2 c3po
matrix1 neo trinity morpheus avatar titanic gladiator rambo rocky1 terminator predator
chicago1 boston bulls redsox patriots broncos raiders chiefs vikings bears giants jets
dallas miami denver seattle phoenix1 atlanta houston detroit portland austin
political politics vote voter voting election democracy democrat republican congress senate
president campaign rally rallies organize organizer volunteer canvass grassroots
changeme1 changeme123 temp temp123 temporary newpassword newpass oldpassword mypass
letmeinnow openup opensesame sesame nopassword nopass blank empty none null
iloveyou! password! welcome! qwerty! admin! letmein! monkey! dragon! master! shadow!
charlie! sunshine! princess! football! baseball! superman! batman! trustno1!
"""
SEEDS = _SEED_TEXT.split()

SUFFIXES = [
    "", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "01", "007", "69", "99", "00", "11",
    "22", "777", "@123", "#1", "2000", "2010", "2015", "2018", "2019", "2020", "2021", "2022", "2023", "2024",
    "2025", "2026",
]


def variants(seed: str) -> set[str]:
    """The seed with the usual suffixes, and capitalised (the list is checked lower-cased anyway)."""
    return {(seed + s).lower() for s in SUFFIXES}


def main() -> None:
    words: set[str] = set()
    for seed in SEEDS:
        words |= variants(seed)
    # Keyboard and digit runs of every length people pick.
    for run in ("1234567890", "0987654321", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghij"):
        words |= {run[:n] for n in range(6, len(run) + 1)}
    for digit in "0123456789":
        words |= {digit * n for n in range(6, 17)}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        words |= {letter * n for n in range(6, 17)}
    # Shorter ones can never pass the length rule, so they would only make the file bigger.
    words = {w for w in words if len(w) >= 8}
    out = Path(__file__).resolve().parent.parent / "rallies" / "data" / "common-passwords.txt"
    header = (
        "# Common passwords, one a line, lower-case; lines starting with # are comments.\n"
        "# Generated by scripts/build_common_passwords.py from well-known leaked-password lists\n"
        "# (RockYou, SecLists, NCSC top 100k) written from memory, plus their usual variants.\n"
        "# Entries shorter than 8 characters are left out: the length rule already refuses them.\n"
    )
    out.write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
    print(f"{len(words)} passwords written to {out}")


if __name__ == "__main__":
    main()
